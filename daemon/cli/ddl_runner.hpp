#pragma once

#include <ostream>
#include <string>

#include "core/command_requests.hpp"
#include "core/config.hpp"
#include "core/ddl_retry.hpp"
#include "pg/activity_query.hpp"
#include "pg/session.hpp"

namespace lockwatch {

// Runs DDL attempts on `ddl` (a read-write session on the server itself), each under the
// request's lock_timeout, while `report` (a second session) prints the chain of sessions
// in front of a waiting attempt every second to `out`.
class DdlRunner {
 public:
  DdlRunner(Session& ddl, Session& report, const DdlRequest& request, const WatchConfig& watch,
            std::ostream& out);

  // The DDL session's pid as the server knows it (a pooler hands libpq a made-up one).
  int ddl_pid() const { return m_ddl_pid; }

  // One attempt at `sql`; never throws (a lost connection is an AttemptResult::error).
  DdlAttempt attempt(const std::string& sql, int number);

 private:
  struct Execution {
    AttemptResult result = AttemptResult::done;
    std::string error;
  };

  void prepare();
  Execution execute(const std::string& sql);
  void report(DdlAttempt& attempt);

  Session& m_ddl;
  Session& m_report;
  ActivityQuery m_query;
  ActivityOptions m_options;
  Duration m_lock_timeout;
  Duration m_statement_timeout;
  std::ostream& m_out;
  int m_ddl_pid = 0;
};

}  // namespace lockwatch
