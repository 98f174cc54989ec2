#pragma once

#include <vector>

#include "core/ddl_classifier.hpp"
#include "core/trace_comparison.hpp"
#include "pg/session.hpp"

namespace lockwatch {

// Runs `statements` for real in one transaction on `session` (read-write, connected to a
// database the operator named disposable), each in a savepoint so that one failure does
// not stop the rest, and reads after each the locks its own session took from
// pg_lock_status(); then rolls everything back and releases any session advisory lock.
// Not run: transaction control, lock_timeout settings (the trace keeps its own), what
// cannot run in a transaction block, COPY FROM, and code it cannot see into (DO, CALL,
// unknown functions), whose effects a rollback may not undo.
std::vector<StatementTrace> trace_statements(Session& session,
                                             const std::vector<ClassifiedStatement>& statements,
                                             Duration lock_timeout, Duration statement_timeout);

}  // namespace lockwatch
