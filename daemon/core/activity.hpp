#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lockwatch {

// Microseconds since the Unix epoch, as the server's clock saw them.
using Micros = std::int64_t;

// One row of pg_stat_activity as the poll read it (query text already normalised
// unless the config turned redaction off).
struct Backend {
  int pid = 0;
  int leader_pid = 0;  // parallel-group leader, 0 when none
  std::string datname;
  std::string usename;
  bool superuser = false;
  std::string application_name;
  std::string client_addr;  // empty for Unix-socket and background processes
  std::string backend_type;
  std::string state;  // empty for background processes
  std::string wait_event_type;
  std::string wait_event;
  std::optional<Micros> backend_start;
  std::optional<Micros> xact_start;
  std::optional<Micros> query_start;
  std::optional<Micros> state_change;
  std::string query;

  // What pg_stat_activity said; the lock snapshot is what counts for the graph.
  bool waiting_on_lock() const { return wait_event_type == "Lock"; }
  bool is_client() const { return backend_type == "client backend"; }
};

// What the poll counted about every client backend, whether or not it returned its row.
struct ActivitySummary {
  std::map<std::string, int> client_states;          // state -> client backends
  std::optional<Micros> oldest_xact_start;           // of any client backend
  std::optional<Micros> oldest_idle_in_transaction;  // state_change of the longest idle one
};

// Everything one poll saw of pg_stat_activity.
struct ActivitySnapshot {
  Micros taken_at = 0;  // the server's now() for the poll statement
  // Every backend but the watchdog's own when `complete`; else only those that matter
  // (lock waiters, their blockers and groups, policy candidates): the daemon's quiet poll
  // aggregates the rest server-side into `summary`.
  std::vector<Backend> backends;
  bool complete = true;
  ActivitySummary summary;
};

// The summary of a complete list of backends (what the server computes for the poll).
ActivitySummary summarise(const std::vector<Backend>& backends);

// Seconds from `since` to `now`, 0 when `since` is unknown or in the future.
double seconds_since(const std::optional<Micros>& since, Micros now);

// The metric label for a pg_stat_activity state: "idle in transaction" -> "idle_in_transaction".
std::string state_label(const std::string& state);

// The six client-backend states PostgreSQL reports, as metric labels.
const std::vector<std::string>& all_state_labels();

}  // namespace lockwatch
