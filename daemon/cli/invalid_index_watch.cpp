#include "cli/invalid_index_watch.hpp"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "cli/cli_session.hpp"
#include "core/ddl_classifier.hpp"
#include "parser/sql_parser.hpp"

namespace lockwatch {

ConcurrentBuilds concurrent_builds(const std::string& sql) {
  ConcurrentBuilds out;
  const auto tree = parse_sql(sql);
  if (!tree) return out;
  const auto statements = classify_statements(*tree, sql);
  if (!statements) return out;
  for (const ClassifiedStatement& s : *statements) {
    if (!s.kind.starts_with("CREATE") || !s.kind.ends_with("INDEX CONCURRENTLY")) continue;
    if (!s.locks.empty()) out.tables.push_back(s.locks.front().relation.sql());
    for (const RelationName& index : s.creates) out.indexes.push_back(index.sql());
  }
  return out;
}

void InvalidIndexWatch::before_first() {
  if (!m_builds.any()) return;
  for (const InvalidIndex& index : read({}, m_builds.indexes)) {
    if (!m_request.drop_invalid) {
      throw std::runtime_error("ddl: index " + index.name +
                               " exists and is INVALID (left by a CREATE INDEX "
                               "CONCURRENTLY that failed): drop it with DROP INDEX "
                               "CONCURRENTLY " +
                               index.name + ", or pass --drop-invalid");
    }
    m_pending.push_back(index);
  }
  for (const InvalidIndex& index : read(m_builds.tables, {})) m_before.push_back(index.oid);
}

bool InvalidIndexWatch::after_failure(int attempt) {
  if (!m_builds.any()) return true;
  bool go_on = true;
  for (const InvalidIndex& index : read(m_builds.tables, {})) {
    if (std::find(m_before.begin(), m_before.end(), index.oid) != m_before.end()) continue;
    m_before.push_back(index.oid);
    std::cout << "attempt " << attempt << ": CREATE INDEX CONCURRENTLY left the INVALID index "
              << index.name << " behind\n";
    if (m_request.drop_invalid) {
      m_pending.push_back(index);
      continue;
    }
    std::cout << "stopping: a retry would fail on it (or, with IF NOT EXISTS, accept it as "
                 "it is); drop it with DROP INDEX CONCURRENTLY "
              << index.name << ", or run again with --drop-invalid\n";
    go_on = false;
  }
  return go_on;
}

std::optional<DdlAttempt> InvalidIndexWatch::drop_pending(int number, Duration lock_timeout) {
  while (!m_pending.empty()) {
    const InvalidIndex& index = m_pending.front();
    DdlAttempt drop = m_runner.drop_index(index.name, number, lock_timeout);
    if (drop.result != AttemptResult::done) {
      drop.step = "dropping the INVALID index " + index.name;
      return drop;
    }
    std::cout << "attempt " << number << ": dropped the INVALID index " << index.name
              << " (DROP INDEX CONCURRENTLY)\n";
    m_pending.erase(m_pending.begin());
  }
  return std::nullopt;
}

std::vector<InvalidIndex> InvalidIndexWatch::read(const std::vector<std::string>& tables,
                                                  const std::vector<std::string>& indexes) {
  Session& report = m_runner.report_session();
  return within_deadline(report.abort_switch(), m_runner.step_limit(), "ddl", [&] {
    return read_invalid_indexes(report.connection(), tables, indexes);
  });
}

}  // namespace lockwatch
