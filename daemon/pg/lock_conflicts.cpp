#include "pg/lock_conflicts.hpp"

#include <map>
#include <stdexcept>

namespace lockwatch {
namespace {

// The search_path the session would have had without the watchdog's pinning, for this
// transaction only: it is how the operator's table names read in psql.
const char* const k_default_search_path_sql = R"SQL(
SELECT pg_catalog.set_config('search_path', s.reset_val, true)
  FROM pg_catalog.pg_settings AS s
 WHERE s.name = 'search_path'
)SQL";

// pg_locks is a view over pg_lock_status() alone, so reading it takes no relation lock;
// the database filter uses our own pg_stat_get_activity() row rather than pg_database.
const char* const k_locks_sql = R"SQL(
SELECT l.relation::int8, coalesce(l.pid, 0), l.mode, l.granted
  FROM pg_catalog.pg_locks AS l
 WHERE l.locktype = 'relation'
   AND l.relation = ANY ($1::oid[])
   AND l.database = (SELECT a.datid
                       FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) AS a)
   AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
 ORDER BY l.granted DESC, l.relation, l.pid
)SQL";

using TableOids = std::map<long long, std::string>;

TableOids resolve_tables(pqxx::work& tx, const std::vector<std::string>& tables) {
  TableOids oids;
  tx.exec(k_default_search_path_sql);
  for (const std::string& table : tables) {
    const pqxx::row row = tx.exec_params1("SELECT pg_catalog.to_regclass($1)::oid::int8", table);
    if (row[0].is_null()) throw std::invalid_argument("no such table: " + table);
    oids.emplace(row[0].as<long long>(), table);
  }
  return oids;
}

std::string oid_array(const TableOids& oids) {
  std::string out = "{";
  for (const auto& [oid, name] : oids) out += (out.size() > 1 ? "," : "") + std::to_string(oid);
  return out + "}";
}

}  // namespace

std::vector<RelationLock> read_relation_locks(pqxx::connection& connection,
                                              const std::vector<std::string>& tables) {
  pqxx::work tx(connection);
  const TableOids oids = resolve_tables(tx, tables);
  std::vector<RelationLock> locks;
  for (const pqxx::row& row : tx.exec_params(k_locks_sql, oid_array(oids))) {
    locks.push_back(RelationLock{row[1].as<int>(), oids.at(row[0].as<long long>()),
                                 row[2].as<std::string>(), row[3].as<bool>()});
  }
  tx.commit();
  return locks;
}

}  // namespace lockwatch
