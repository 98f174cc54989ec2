#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "core/command_requests.hpp"
#include "core/config.hpp"
#include "core/ddl_retry.hpp"
#include "pg/activity_query.hpp"
#include "pg/session.hpp"

namespace lockwatch {

// Runs DDL attempts on `ddl` (a read-write session on the server itself), each under its
// lock_timeout, while `report` (a second session) prints the chain of sessions in front
// of a waiting attempt every second to `out`. The report session also holds the attempt
// to lock_timeout from outside: SQL that changes lock_timeout itself is cancelled once it
// has been seen waiting on a lock that long. When `interrupted` turns true (Ctrl-C), the
// running statement is cancelled on the server, so that nothing is left queued there.
class DdlRunner {
 public:
  DdlRunner(Session& ddl, Session& report, const DdlRequest& request, const WatchConfig& watch,
            std::ostream& out, const std::atomic<bool>& interrupted);

  // The DDL session's pid as the server knows it (a pooler hands libpq a made-up one).
  int ddl_pid() const { return m_ddl_pid; }

  // One attempt at `sql` under `lock_timeout`; never throws (a lost connection is an
  // AttemptResult::error). A transaction the SQL began is rolled back when the attempt
  // fails, and is an error when it succeeds without ending it.
  DdlAttempt attempt(const std::string& sql, int number, Duration lock_timeout);

  // DROP INDEX CONCURRENTLY IF EXISTS `index` on the DDL session, under `lock_timeout`,
  // as (part of) attempt `number`.
  DdlAttempt drop_index(const std::string& index, int number, Duration lock_timeout);

  // The report session, and the hard deadline of one step on it.
  Session& report_session() { return m_report; }
  Duration step_limit() const { return m_step_deadline; }

 private:
  struct Execution {
    AttemptResult result = AttemptResult::done;
    std::string error;
  };

  using Clock = std::chrono::steady_clock;

  void prepare();
  Execution execute(const std::string& sql);
  bool in_transaction();
  void settle(DdlAttempt& attempt);
  // Prints the chain in front of a waiting attempt; true when the attempt waits on a lock.
  bool report(DdlAttempt& attempt);
  // Cancels the attempt once it has waited on a lock for lock_timeout, seen from outside.
  void hold_to_lock_timeout(bool waiting);

  Session& m_ddl;
  Session& m_report;
  std::unique_ptr<ActivityQuery> m_query;  // on `report`, made under the step deadline
  ActivityOptions m_options;
  Duration m_lock_timeout;
  Duration m_statement_timeout;
  Duration m_step_deadline;
  std::ostream& m_out;
  const std::atomic<bool>& m_interrupted;
  int m_ddl_pid = 0;
  std::optional<Clock::time_point> m_waiting_since;  // this attempt, seen waiting since
  std::atomic<bool> m_cancelled{false};              // by hold_to_lock_timeout()
};

}  // namespace lockwatch
