#pragma once

#include <atomic>
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
// of a waiting attempt every second to `out`. When `interrupted` turns true (Ctrl-C), the
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

  Session& report_session() { return m_report; }

 private:
  struct Execution {
    AttemptResult result = AttemptResult::done;
    std::string error;
  };

  void prepare(Duration lock_timeout);
  Execution execute(const std::string& sql);
  void report(DdlAttempt& attempt);
  bool in_transaction();
  void settle(DdlAttempt& attempt);

  Session& m_ddl;
  Session& m_report;
  ActivityQuery m_query;
  ActivityOptions m_options;
  Duration m_statement_timeout;
  std::ostream& m_out;
  const std::atomic<bool>& m_interrupted;
  int m_ddl_pid = 0;
};

}  // namespace lockwatch
