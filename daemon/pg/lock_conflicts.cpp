#include "pg/lock_conflicts.hpp"

#include <string>

namespace lockwatch {
namespace {

// pg_locks is a view over pg_lock_status() alone, so reading it takes no relation lock;
// the database filter uses our own pg_stat_get_activity() row rather than pg_database.
const char* const k_locks_sql = R"SQL(
SELECT l.locktype = 'advisory', coalesce(l.relation, 0)::int8, coalesce(l.classid, 0)::int8,
       coalesce(l.objid, 0)::int8, coalesce(l.objsubid, 0), coalesce(l.pid, 0), l.mode, l.granted
  FROM pg_catalog.pg_locks AS l
 WHERE ((l.locktype = 'relation' AND l.relation = ANY ($1::pg_catalog.oid[]))
        OR (l.locktype = 'advisory' AND $2))
   AND l.database = (SELECT a.datid
                       FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) AS a)
   AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
 ORDER BY l.granted DESC, l.relation, l.pid
)SQL";

std::string oid_array(const std::vector<Oid>& oids) {
  std::string out = "{";
  for (const Oid oid : oids) out += (out.size() > 1 ? "," : "") + std::to_string(oid);
  return out + "}";
}

}  // namespace

std::vector<HeldLock> read_held_locks(pqxx::work& tx, const std::vector<Oid>& relations,
                                      bool advisory) {
  std::vector<HeldLock> locks;
  for (const pqxx::row& row : tx.exec_params(k_locks_sql, oid_array(relations), advisory)) {
    HeldLock l;
    l.advisory = row[0].as<bool>();
    l.relation = row[1].as<Oid>();
    l.key.classid = static_cast<std::uint32_t>(row[2].as<Oid>());
    l.key.objid = static_cast<std::uint32_t>(row[3].as<Oid>());
    l.key.objsubid = row[4].as<int>();
    l.pid = row[5].as<int>();
    l.mode = row[6].as<std::string>();
    l.granted = row[7].as<bool>();
    locks.push_back(l);
  }
  return locks;
}

}  // namespace lockwatch
