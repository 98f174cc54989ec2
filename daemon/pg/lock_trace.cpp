#include "pg/lock_trace.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "pg/catalog_lookup.hpp"

namespace lockwatch {
namespace {

// The session's own granted locks on relations outside the system catalogs (oids below
// FirstNormalObjectId, 16384, are PostgreSQL's own) and its advisory locks. The function
// under pg_locks, so that reading them takes no lock of its own.
const char* const k_own_locks_sql = R"SQL(
SELECT l.locktype = 'advisory', coalesce(l.relation, 0)::int8, coalesce(l.classid, 0)::int8,
       coalesce(l.objid, 0)::int8, coalesce(l.objsubid, 0), l.mode,
       CASE WHEN l.relation IS NULL THEN '' ELSE l.relation::pg_catalog.regclass::text END
  FROM pg_catalog.pg_lock_status() AS l
 WHERE l.pid = pg_catalog.pg_backend_pid() AND l.granted
   AND ((l.locktype = 'relation' AND l.relation >= 16384) OR l.locktype = 'advisory')
)SQL";

std::string milliseconds(Duration d) {
  return "'" + std::to_string(d.count()) + "ms'";
}

using LockKey = std::tuple<bool, Oid, Oid, Oid, int, std::string>;

LockKey key(const TracedLock& l) {
  return {l.advisory, l.oid, l.key.classid, l.key.objid, l.key.objsubid, l.mode};
}

std::vector<TracedLock> own_locks(pqxx::work& tx) {
  std::vector<TracedLock> out;
  for (const pqxx::row& row : tx.exec(k_own_locks_sql)) {
    TracedLock l;
    l.advisory = row[0].as<bool>();
    l.oid = row[1].as<Oid>();
    l.key.classid = static_cast<std::uint32_t>(row[2].as<Oid>());
    l.key.objid = static_cast<std::uint32_t>(row[3].as<Oid>());
    l.key.objsubid = row[4].as<int>();
    l.mode = row[5].as<std::string>();
    l.relation = row[6].as<std::string>();
    out.push_back(l);
  }
  return out;
}

// Why a statement is not run under the trace; empty when it is.
std::string skip_reason(const ClassifiedStatement& s) {
  if (s.effect == SessionEffect::begin || s.effect == SessionEffect::end) {
    return "the trace runs every statement in one transaction of its own";
  }
  if (s.effect == SessionEffect::sets_lock_timeout ||
      s.effect == SessionEffect::clears_lock_timeout) {
    return "the trace keeps its own lock_timeout";
  }
  if (s.needs_own_transaction) return s.kind + " cannot run inside a transaction block";
  if (s.kind == "COPY FROM") return "COPY FROM reads input the trace does not have";
  if (s.runs_code) return "it runs code whose effects a rollback may not undo";
  return "";
}

StatementTrace run_one(pqxx::work& tx, const ClassifiedStatement& s, std::set<LockKey>& held) {
  StatementTrace trace;
  trace.reason = skip_reason(s);
  if (!trace.reason.empty()) return trace;
  try {
    pqxx::subtransaction step(tx, "lw_trace");
    step.exec(s.sql);
    step.commit();
  } catch (const pqxx::sql_error& e) {
    trace.outcome = StatementTrace::Outcome::failed;
    trace.reason = e.sqlstate() == "55P03"
                       ? "lock timeout: another session holds a conflicting lock"
                       : std::string(e.what());
    return trace;
  } catch (const pqxx::transaction_rollback& e) {  // deadlocks, serialization failures
    trace.outcome = StatementTrace::Outcome::failed;
    trace.reason = e.what();
    return trace;
  }
  trace.outcome = StatementTrace::Outcome::traced;
  for (TracedLock& l : own_locks(tx)) {
    if (held.insert(key(l)).second) trace.locks.push_back(std::move(l));
  }
  return trace;
}

// Names the relations as they were before the trace, and tells which ones it made.
void name_as_before(pqxx::connection& connection, std::vector<StatementTrace>& traces) {
  std::string oids = "{";
  for (const StatementTrace& t : traces) {
    for (const TracedLock& l : t.locks) {
      if (!l.advisory) oids += (oids.size() > 1 ? "," : "") + std::to_string(l.oid);
    }
  }
  pqxx::work tx(connection);
  use_default_search_path(tx);
  std::map<Oid, std::string> names;
  for (const pqxx::row& row :
       tx.exec_params("SELECT c.oid::int8, c.oid::pg_catalog.regclass::text FROM "
                      "pg_catalog.pg_class AS c WHERE c.oid = ANY ($1::pg_catalog.oid[])",
                      oids + "}")) {
    names[row[0].as<Oid>()] = row[1].as<std::string>();
  }
  tx.commit();
  for (StatementTrace& t : traces) {
    for (TracedLock& l : t.locks) {
      if (l.advisory) continue;
      const auto it = names.find(l.oid);
      l.existed = it != names.end();
      if (l.existed) l.relation = it->second;
    }
    std::sort(t.locks.begin(), t.locks.end(), [](const TracedLock& a, const TracedLock& b) {
      return std::tie(a.advisory, a.relation, a.mode) < std::tie(b.advisory, b.relation, b.mode);
    });
  }
}

}  // namespace

std::vector<StatementTrace> trace_statements(Session& session,
                                             const std::vector<ClassifiedStatement>& statements,
                                             Duration lock_timeout, Duration statement_timeout) {
  std::vector<StatementTrace> traces;
  {
    pqxx::work tx(session.connection());
    use_default_search_path(tx);
    tx.exec("SET LOCAL lock_timeout = " + milliseconds(lock_timeout) +
            "; SET LOCAL statement_timeout = " + milliseconds(statement_timeout));
    std::set<LockKey> held;
    for (const TracedLock& l : own_locks(tx)) held.insert(key(l));
    for (const ClassifiedStatement& s : statements) traces.push_back(run_one(tx, s, held));
    tx.abort();
  }
  pqxx::nontransaction(session.connection()).exec("SELECT pg_catalog.pg_advisory_unlock_all()");
  name_as_before(session.connection(), traces);
  return traces;
}

}  // namespace lockwatch
