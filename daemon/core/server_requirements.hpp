#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lockwatch {

// What the watchdog's session learned about the server and its own role at connect.
struct ServerFacts {
  int version_num = 0;  // server_version_num, e.g. 150018
  std::string role;     // current_user
  bool superuser = false;
  bool read_all_stats = false;  // member of pg_read_all_stats (pg_monitor includes it)
  bool signal_backend = false;  // member of pg_signal_backend
};

// pg_stat_activity.leader_pid (parallel groups) needs 13; pg_locks.waitstart comes with 14.
constexpr int k_min_server_version = 130000;
constexpr int k_waitstart_server_version = 140000;

// Why this server cannot be watched at all, with what to do; nullopt when it can.
std::optional<std::string> unsupported_server(const ServerFacts& facts);

// A privilege the watchdog's role lacks, and what it costs, with the fix.
struct PrivilegeProblem {
  std::string privilege;  // "pg_read_all_stats" or "pg_signal_backend": a metric label
  std::string message;
};

// The privileges whose absence pg_lockwatch_missing_privilege reports, in label order.
const std::vector<std::string>& checked_privileges();

// What the watchdog cannot see or do with this role (empty: nothing). `signals` says
// whether some policy may send a signal (not log-only, not dry run).
std::vector<PrivilegeProblem> privilege_problems(const ServerFacts& facts, bool signals);

}  // namespace lockwatch
