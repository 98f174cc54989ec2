#include "core/preflight_report.hpp"

#include <algorithm>

namespace lockwatch {
namespace {

bool conflicts_with(const std::string& held, LockMode wanted) {
  const auto mode = parse_lock_mode(held);
  return mode && conflicts(*mode, wanted);
}

bool same_key(const AdvisoryTarget& a, const AdvisoryTarget& b) {
  return a.classid == b.classid && a.objid == b.objid && a.objsubid == b.objsubid;
}

// The statement's wanted locks that `lock` conflicts with.
std::vector<ConflictLock> conflicting(const StatementCheck& check, const HeldLock& lock) {
  std::vector<ConflictLock> out;
  if (lock.advisory) {
    for (const AdvisoryTarget& a : check.statement.advisory) {
      if (same_key(a, lock.key) && conflicts_with(lock.mode, a.mode)) {
        out.push_back({"advisory lock " + advisory_key_text(lock.key), "", lock.mode, a.mode});
      }
    }
    return out;
  }
  const FootprintLock* strongest = nullptr;  // one line per lock: the strongest mode wanted
  for (const FootprintLock& f : check.footprint.locks) {
    if (f.oid != lock.relation || !conflicts_with(lock.mode, f.mode)) continue;
    if (!strongest || static_cast<int>(f.mode) > static_cast<int>(strongest->mode)) strongest = &f;
  }
  if (strongest) out.push_back({strongest->relation, strongest->via, lock.mode, strongest->mode});
  return out;
}

void add_conflict(std::vector<ConflictingSession>& sessions, const HeldLock& lock,
                  std::vector<ConflictLock> found, const Observation& obs) {
  auto it = std::find_if(sessions.begin(), sessions.end(),
                         [&](const ConflictingSession& s) { return s.pid == lock.pid; });
  if (it == sessions.end()) {
    ConflictingSession s;
    s.pid = lock.pid;
    const Backend* b = lock.pid == 0 ? nullptr : obs.backend(lock.pid);
    if (b) s.session = audited(*b, obs.now());
    sessions.push_back(std::move(s));
    it = sessions.end() - 1;
  }
  for (ConflictLock& c : found) it->locks.push_back(std::move(c));
}

void find_conflicts(StatementCheck& check, const std::vector<HeldLock>& locks,
                    const Observation& obs) {
  for (const HeldLock& lock : locks) {
    std::vector<ConflictLock> found = conflicting(check, lock);
    if (found.empty()) continue;
    add_conflict(lock.granted ? check.holders : check.queued, lock, std::move(found), obs);
  }
}

std::vector<AuditedSession> old_transactions(const Observation& obs, Duration limit,
                                             const std::string& database) {
  std::vector<AuditedSession> out;
  if (limit.count() <= 0) return out;
  const double limit_seconds = std::chrono::duration<double>(limit).count();
  for (const Backend& b : obs.activity().backends) {
    if (!b.is_client() || b.datname != database) continue;
    if (seconds_since(b.xact_start, obs.now()) > limit_seconds) {
      out.push_back(audited(b, obs.now()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.xact_age_seconds > b.xact_age_seconds; });
  return out;
}

// The missing names of each check that an earlier statement creates.
void note_created_earlier(std::vector<StatementCheck>& checks) {
  for (std::size_t i = 0; i < checks.size(); ++i) {
    for (const std::string& missing : checks[i].footprint.missing) {
      for (std::size_t j = 0; j < i; ++j) {
        const auto& made = checks[j].statement.creates;
        const bool found = std::any_of(made.begin(), made.end(), [&](const RelationName& r) {
          return r.sql() == missing || RelationName{"", r.name}.sql() == missing;
        });
        if (found) {
          checks[i].created_earlier.push_back(missing);
          break;
        }
      }
    }
  }
}

}  // namespace

void attach_trace(StatementCheck& check, StatementTrace trace) {
  check.comparison = compare_trace(check.footprint, check.statement.advisory, trace);
  for (const TracedLock& l : trace.locks) {
    const auto mode = parse_lock_mode(l.mode);
    if (l.advisory || !l.existed || !mode) continue;
    const bool predicted =
        std::any_of(check.footprint.locks.begin(), check.footprint.locks.end(),
                    [&](const FootprintLock& f) { return f.oid == l.oid && f.mode == *mode; });
    if (!predicted) check.footprint.locks.push_back({l.oid, l.relation, *mode, "seen by --trace"});
  }
  check.trace = std::move(trace);
}

bool PreflightReport::clear() const {
  return old_transactions.empty() && std::all_of(statements.begin(), statements.end(),
                                                 [](const StatementCheck& s) { return s.clear(); });
}

StatementCheck table_check(const PreflightRequest& request) {
  StatementCheck check;
  check.statement.number = 1;
  check.statement.kind = "DDL";
  for (const std::string& table : request.tables) {
    check.statement.locks.push_back(table_target(table, request.lock_mode));
  }
  return check;
}

PreflightReport assess_preflight(const PreflightRequest& request,
                                 std::vector<StatementCheck> checks, const Observation& observation,
                                 const std::vector<HeldLock>& locks, const std::string& database) {
  PreflightReport report;
  report.from_sql = request.tables.empty();
  report.lock_mode = request.lock_mode;
  report.tables = request.tables;
  report.trace_database = request.trace_database;
  report.max_xact_age = request.max_xact_age;
  for (StatementCheck& check : checks) find_conflicts(check, locks, observation);
  note_created_earlier(checks);
  report.statements = std::move(checks);
  report.old_transactions = old_transactions(observation, request.max_xact_age, database);
  return report;
}

}  // namespace lockwatch
