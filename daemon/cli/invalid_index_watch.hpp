#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/ddl_runner.hpp"
#include "core/command_requests.hpp"
#include "pg/invalid_indexes.hpp"

namespace lockwatch {

// The tables and named indexes of the SQL's CREATE INDEX CONCURRENTLY statements, read
// with PostgreSQL's parser (SQL it cannot parse is left to the server to judge).
struct ConcurrentBuilds {
  std::vector<std::string> tables;
  std::vector<std::string> indexes;
  bool any() const { return !tables.empty(); }
};

ConcurrentBuilds concurrent_builds(const std::string& sql);

// Watches the INVALID indexes a failed CREATE INDEX CONCURRENTLY leaves on its tables,
// and with --drop-invalid drops them before the next attempt. Reports on stdout.
class InvalidIndexWatch {
 public:
  InvalidIndexWatch(DdlRunner& runner, const DdlRequest& request, ConcurrentBuilds builds)
      : m_runner(runner), m_request(request), m_builds(std::move(builds)) {}

  // Before the first attempt: an index of the SQL that is already there and INVALID (an
  // earlier run's) is dropped first with --drop-invalid, else a usage error (throws). The
  // other INVALID indexes of the tables are not this run's to drop.
  void before_first();

  // After a failed attempt: reports what it left; false when that stops the run (no
  // --drop-invalid: a retry would fail on it, or, with IF NOT EXISTS, accept it).
  bool after_failure(int attempt);

  // Drops the INVALID indexes waiting to be dropped, as the first part of attempt
  // `number`; a drop that fails (a lock timeout, say) is that attempt's result.
  std::optional<DdlAttempt> drop_pending(int number, Duration lock_timeout);

 private:
  std::vector<InvalidIndex> read(const std::vector<std::string>& tables,
                                 const std::vector<std::string>& indexes);

  DdlRunner& m_runner;
  const DdlRequest& m_request;
  ConcurrentBuilds m_builds;
  std::vector<Oid> m_before;
  std::vector<InvalidIndex> m_pending;
};

}  // namespace lockwatch
