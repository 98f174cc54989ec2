#pragma once

// Builds ActivitySnapshot values for tests, one backend per call:
//
//   SnapshotBuilder().at(k_now)
//       .idle_in_tx(65365, "api", /*state_age*/ 312)
//       .waiting(79250, "migrate", {65365}, /*wait*/ 45)
//       .build();
//
// Ages are whole seconds before the snapshot's time, so call at() first. The modifiers
// (query, user, leader, ...) change the backend added last.

#include <string>
#include <utility>
#include <vector>

#include "core/activity.hpp"

namespace lockwatch {

constexpr Micros k_micros_per_second = 1'000'000;
constexpr Micros k_now = 1'700'000'000 * k_micros_per_second;  // 2023-11-14T22:13:20Z

class SnapshotBuilder {
 public:
  SnapshotBuilder& at(Micros now) {
    m_snapshot.taken_at = now;
    return *this;
  }

  // A client backend holding locks in an open transaction while it waits for its client.
  SnapshotBuilder& idle_in_tx(int pid, std::string app, int state_age) {
    Backend& b = add(pid, std::move(app), "idle in transaction", state_age);
    b.wait_event_type = "Client";
    b.wait_event = "ClientRead";
    b.query = "SELECT * FROM accounts WHERE id = ? FOR UPDATE";
    return *this;
  }

  // A client backend running a statement, not waiting on a lock.
  SnapshotBuilder& active(int pid, std::string app, int state_age = 0) {
    add(pid, std::move(app), "active", state_age).query = "SELECT pg_sleep(?)";
    return *this;
  }

  // A client backend whose statement, started `wait` seconds ago, waits on `blocked_by`.
  SnapshotBuilder& waiting(int pid, std::string app, std::vector<int> blocked_by, int wait) {
    Backend& b = add(pid, std::move(app), "active", wait);
    b.wait_event_type = "Lock";
    b.wait_event = "relation";
    b.blocked_by = std::move(blocked_by);
    b.query = "UPDATE accounts SET balance = balance + ? WHERE id = ?";
    return *this;
  }

  // A client backend in any state, with nothing else set.
  SnapshotBuilder& in_state(int pid, std::string state) {
    add(pid, "psql", std::move(state), 0);
    return *this;
  }

  SnapshotBuilder& query(std::string text) {
    last().query = std::move(text);
    return *this;
  }
  SnapshotBuilder& user(std::string name) {
    last().usename = std::move(name);
    return *this;
  }
  SnapshotBuilder& database(std::string name) {
    last().datname = std::move(name);
    return *this;
  }
  SnapshotBuilder& xact_age(int seconds) {
    last().xact_start = ago(seconds);
    return *this;
  }
  // Makes the last backend a parallel worker of `leader`.
  SnapshotBuilder& worker_of(int leader) {
    last().leader_pid = leader;
    last().backend_type = "parallel worker";
    return *this;
  }
  SnapshotBuilder& backend_type(std::string type) {
    last().backend_type = std::move(type);
    return *this;
  }

  ActivitySnapshot build() const { return m_snapshot; }

 private:
  Micros ago(int seconds) const { return m_snapshot.taken_at - seconds * k_micros_per_second; }

  Backend& add(int pid, std::string app, std::string state, int state_age) {
    Backend& b = m_snapshot.backends.emplace_back();
    b.pid = pid;
    b.datname = "shop";
    b.usename = "app";
    b.application_name = std::move(app);
    b.client_addr = "10.0.0.7";
    b.backend_type = "client backend";
    b.state = std::move(state);
    b.backend_start = ago(state_age + 3600);
    b.xact_start = ago(state_age + 1);
    b.query_start = ago(state_age);
    b.state_change = ago(state_age);
    return b;
  }

  Backend& last() { return m_snapshot.backends.back(); }

  ActivitySnapshot m_snapshot{k_now, {}};
};

// The incident the daemon was written for: a transaction left idle holds a lock, a
// migration queues behind it, and everything touching the table queues behind both.
inline ActivitySnapshot seed_incident() {
  return SnapshotBuilder()
      .at(k_now)
      .idle_in_tx(65365, "api", 312)
      .query("SELECT * FROM accounts WHERE id = ? FOR UPDATE")
      .waiting(79250, "migrate", {65365}, 45)
      .query("ALTER TABLE accounts ADD COLUMN note text")
      .waiting(77970, "api", {65365, 79250}, 30)
      .waiting(79337, "reporting", {79250, 77970}, 12)
      .query("SELECT count(*) FROM accounts")
      .build();
}

}  // namespace lockwatch
