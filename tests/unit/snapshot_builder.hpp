#pragma once

// Builds what one poll reads (the activity and the lock snapshot) for tests, one backend
// per call:
//
//   SnapshotBuilder().at(k_now)
//       .idle_in_tx(65365, "api", /*state_age*/ 312).holds(accounts(), LockMode::access_share)
//       .active(79250, "migrate").wants(accounts(), LockMode::access_exclusive, /*wait*/ 45)
//       .build();
//
// Ages are whole seconds before the snapshot's time, so call at() first. The modifiers
// (query, user, leader, holds, wants, ...) change the backend added last. waiting() is the
// short form for tests about the graph's shape: the backend waits on a lock of its own
// that exactly the listed blockers hold (0: a prepared transaction).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/observation.hpp"

namespace lockwatch {

constexpr Micros k_micros_per_second = 1'000'000;
constexpr Micros k_now = 1'700'000'000 * k_micros_per_second;  // 2023-11-14T22:13:20Z
constexpr std::uint32_t k_accounts_oid = 16384;

inline LockTarget relation_target(std::uint32_t oid, std::uint32_t database = 5) {
  LockTarget t;
  t.type = LockType::relation;
  t.type_name = "relation";
  t.database = database;
  t.relation = oid;
  return t;
}

inline LockTarget accounts() {
  return relation_target(k_accounts_oid);
}

inline LockTarget tuple_target(std::uint32_t oid, std::int64_t page, int tuple) {
  LockTarget t = relation_target(oid);
  t.type = LockType::tuple;
  t.type_name = "tuple";
  t.page = page;
  t.tuple = tuple;
  return t;
}

inline LockTarget xact_target(std::int64_t xid) {
  LockTarget t;
  t.type = LockType::transactionid;
  t.type_name = "transactionid";
  t.transactionid = xid;
  return t;
}

inline LockTarget advisory_target(std::uint32_t key) {
  LockTarget t;
  t.type = LockType::advisory;
  t.type_name = "advisory";
  t.database = 5;
  t.objid = key;
  t.objsubid = 1;
  return t;
}

class SnapshotBuilder {
 public:
  SnapshotBuilder() {
    m_snapshots.activity.taken_at = k_now;
    m_snapshots.locks.names_database = 5;
    m_snapshots.locks.relation_names[k_accounts_oid] = "public.accounts";
  }

  SnapshotBuilder& at(Micros now) {
    m_snapshots.activity.taken_at = now;
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

  // A client backend whose statement, started `wait` seconds ago, waits on `blocked_by`
  // (hard edges only: each blocker holds a ShareLock on an advisory lock of the waiter's).
  SnapshotBuilder& waiting(int pid, std::string app, std::vector<int> blocked_by, int wait) {
    Backend& b = add(pid, std::move(app), "active", wait);
    b.query = "UPDATE accounts SET balance = balance + ? WHERE id = ?";
    const LockTarget own = advisory_target(static_cast<std::uint32_t>(pid));
    for (int blocker : blocked_by) entry(own, session_of(blocker), LockMode::share, true, 0);
    return wants(own, LockMode::exclusive, wait);
  }

  // A client backend in any state, with nothing else set.
  SnapshotBuilder& in_state(int pid, std::string state) {
    add(pid, "psql", std::move(state), 0);
    return *this;
  }

  // The last backend holds `mode` on `target`.
  SnapshotBuilder& holds(const LockTarget& target, LockMode mode) {
    entry(target, last().pid, mode, true, 0);
    return *this;
  }

  // The last backend has waited `wait` seconds for `mode` on `target`.
  SnapshotBuilder& wants(const LockTarget& target, LockMode mode, int wait) {
    Backend& b = last();
    b.wait_event_type = "Lock";
    b.wait_event = target.type_name;
    entry(target, b.pid, mode, false, wait);
    return *this;
  }

  // Like wants(), with a waitstart `micros` after the snapshot's time minus `wait` seconds:
  // for queues whose order matters within one second.
  SnapshotBuilder& wants_at(const LockTarget& target, LockMode mode, Micros waitstart) {
    Backend& b = last();
    b.wait_event_type = "Lock";
    b.wait_event = target.type_name;
    queue(target).entries.push_back(LockEntry{b.pid, mode, false, waitstart});
    return *this;
  }

  // A prepared transaction (session -n for the n-th) prepared `age` seconds ago.
  SnapshotBuilder& prepared(std::string gid, int age) {
    PreparedXact p;
    p.session = -static_cast<int>(m_snapshots.locks.prepared.size()) - 1;
    p.transaction = 1000 + static_cast<int>(m_snapshots.locks.prepared.size());
    p.gid = std::move(gid);
    p.prepared_at = ago(age);
    p.owner = "app";
    p.database = "shop";
    m_snapshots.locks.prepared.push_back(p);
    return *this;
  }

  // The last prepared transaction holds `mode` on `target`.
  SnapshotBuilder& prepared_holds(const LockTarget& target, LockMode mode) {
    entry(target, m_snapshots.locks.prepared.back().session, mode, true, 0);
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

  PollSnapshots build() const {
    PollSnapshots out = m_snapshots;
    out.activity.summary = summarise(out.activity.backends);
    out.locks.taken = !out.locks.queues.empty();
    return out;
  }

 private:
  Micros ago(int seconds) const {
    return m_snapshots.activity.taken_at - seconds * k_micros_per_second;
  }

  // Blocker 0 of waiting() is a prepared transaction, as pg_blocking_pids() reports one.
  int session_of(int blocker) {
    if (blocker != 0) return blocker;
    if (m_snapshots.locks.prepared.empty()) prepared("prepared-0", 600);
    return m_snapshots.locks.prepared.front().session;
  }

  LockQueue& queue(const LockTarget& target) {
    auto& queues = m_snapshots.locks.queues;
    const auto it = std::find_if(queues.begin(), queues.end(),
                                 [&](const LockQueue& q) { return q.target == target; });
    if (it != queues.end()) return *it;
    queues.push_back(LockQueue{target, {}});
    return queues.back();
  }

  void entry(const LockTarget& target, int session, LockMode mode, bool granted, int wait) {
    LockEntry e{session, mode, granted, std::nullopt};
    if (!granted) e.waitstart = ago(wait);
    queue(target).entries.push_back(e);
  }

  Backend& add(int pid, std::string app, std::string state, int state_age) {
    Backend& b = m_snapshots.activity.backends.emplace_back();
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

  Backend& last() { return m_snapshots.activity.backends.back(); }

  PollSnapshots m_snapshots;
};

// The incident the daemon was written for: a transaction left idle holds a lock, a
// migration queues behind it, and everything touching the table queues behind both.
inline PollSnapshots seed_incident() {
  return SnapshotBuilder()
      .at(k_now)
      .idle_in_tx(65365, "api", 312)
      .query("SELECT * FROM accounts WHERE id = ? FOR UPDATE")
      .holds(accounts(), LockMode::access_share)
      .active(79250, "migrate", 45)
      .query("ALTER TABLE accounts ADD COLUMN note text")
      .wants(accounts(), LockMode::access_exclusive, 45)
      .active(77970, "migrate2", 30)
      .query("ALTER TABLE accounts ADD COLUMN note2 text")
      .wants(accounts(), LockMode::access_exclusive, 30)
      .active(79337, "reporting", 12)
      .query("SELECT count(*) FROM accounts")
      .wants(accounts(), LockMode::access_share, 12)
      .build();
}

}  // namespace lockwatch
