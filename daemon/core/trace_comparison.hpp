#pragma once

#include <string>
#include <vector>

#include "core/lock_footprint.hpp"
#include "core/statement_lock.hpp"

namespace lockwatch {

// One lock the traced statement took, as its own session saw it in pg_locks.
struct TracedLock {
  bool advisory = false;
  Oid oid = 0;           // the relation
  AdvisoryTarget key;    // the advisory lock (its mode unused)
  std::string relation;  // its name before the trace (as it was inside, if it is new)
  std::string mode;      // pg_locks spelling
  bool existed = true;   // false: made by the traced statements; nobody else can lock it
};

// What running one statement under --trace showed.
struct StatementTrace {
  enum class Outcome { traced, not_run, failed } outcome = Outcome::not_run;
  std::string reason;             // why it was not run, or the error it failed with
  std::vector<TracedLock> locks;  // first taken by this statement (not by an earlier one)
};

enum class TraceVerdict {
  equal,    // the prediction is exactly what was seen
  covers,   // the prediction conflicts with everything the observed locks conflict with, and more
  differs,  // something seen is not covered: the prediction missed it
  not_traced,  // nothing to compare with
};

std::string verdict_name(TraceVerdict verdict);  // "equal", "covers", "differs", "not traced"

struct TraceComparison {
  TraceVerdict verdict = TraceVerdict::not_traced;
  std::vector<std::string> missed;  // seen but not covered: "orders AccessExclusiveLock"
  std::vector<std::string> beyond;  // predicted beyond what was seen: "orders_pkey ACCESS SHARE"
};

// Compares a statement's predicted footprint with what the trace saw it take, relation by
// relation: a prediction covers a lock when the modes predicted there conflict with every
// mode the seen lock conflicts with. Locks on relations the statements made are left out.
TraceComparison compare_trace(const Footprint& predicted,
                              const std::vector<AdvisoryTarget>& predicted_advisory,
                              const StatementTrace& observed);

}  // namespace lockwatch
