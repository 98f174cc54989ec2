#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/command_requests.hpp"
#include "core/connection_audit.hpp"
#include "core/ddl_advice.hpp"
#include "core/ddl_classifier.hpp"
#include "core/held_lock.hpp"
#include "core/lock_footprint.hpp"
#include "core/observation.hpp"
#include "core/trace_comparison.hpp"

namespace lockwatch {

// One lock of another session that conflicts with one the statement needs.
struct ConflictLock {
  std::string relation;  // or "advisory lock 42"
  std::string via;       // how the statement reaches it: "partition of events"
  std::string mode;      // held or awaited, pg_locks spelling
  LockMode wanted = LockMode::access_exclusive;  // what the statement needs there
};

// A session holding (or queued for) locks the statement would queue behind, and the
// session itself (none for a prepared transaction or a session that ended since).
struct ConflictingSession {
  int pid = 0;
  std::vector<ConflictLock> locks;
  std::optional<AuditedSession> session;
};

// One statement (or, for --table, the DDL on the tables) and whether it could take its
// locks now.
struct StatementCheck {
  ClassifiedStatement statement;
  Footprint footprint;
  std::vector<std::string>
      created_earlier;  // names in `footprint.missing` made by earlier statements
  std::vector<Advice> advice;
  std::vector<ConflictingSession> holders;  // granted, conflicting
  std::vector<ConflictingSession> queued;   // awaited, conflicting: it would queue behind them
  std::optional<StatementTrace> trace;
  TraceComparison comparison;

  bool clear() const {
    return statement.classified && holders.empty() && queued.empty() &&
           comparison.verdict != TraceVerdict::differs;
  }
};

// Whether a migration could take its locks now without queueing, and if not, why.
struct PreflightReport {
  bool from_sql = false;                            // --sql / --file, else --table
  LockMode lock_mode = LockMode::access_exclusive;  // --table
  std::vector<std::string> tables;                  // --table
  std::string trace_database;                       // --trace
  std::vector<StatementCheck> statements;
  Duration max_xact_age{0};
  std::vector<AuditedSession> old_transactions;  // in `database`, older than max_xact_age

  bool clear() const;
};

// The check of --table: one pseudo-statement whose footprint is the tables' (see
// table_target).
StatementCheck table_check(const PreflightRequest& request);

// Attaches what --trace saw the statement take: the comparison with its footprint, and
// every lock the prediction missed added to the footprint (so it is checked for
// conflicts too, "seen by --trace").
void attach_trace(StatementCheck& check, StatementTrace trace);

// Fills each check's holders and queued from `locks` (other sessions' pg_locks rows on the
// footprint's relations and advisory locks): a lock counts when its mode conflicts with a
// mode the statement needs on that relation (modes that are not table lock modes, like
// SIReadLock, never do). Notes the missing relations an earlier statement creates, and
// lists the client transactions in `database` older than the limit.
PreflightReport assess_preflight(const PreflightRequest& request,
                                 std::vector<StatementCheck> checks, const Observation& observation,
                                 const std::vector<HeldLock>& locks, const std::string& database);

std::string render_preflight_text(const PreflightReport& report);
std::string render_preflight_json(const PreflightReport& report);

// "orders and 5 related relations (2 partitions, 2 indexes, 1 TOAST table)".
std::string footprint_summary(const Footprint& footprint);

}  // namespace lockwatch
