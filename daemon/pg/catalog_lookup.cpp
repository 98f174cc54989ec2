#include "pg/catalog_lookup.hpp"

#include <sstream>

namespace lockwatch {
namespace {

const char* const k_default_search_path_sql = R"SQL(
SELECT pg_catalog.set_config('search_path', s.reset_val, true)
  FROM pg_catalog.pg_settings AS s
 WHERE s.name = 'search_path'
)SQL";

// One relation and everything its lock can reach, as arrays of oids ("name=oid" for
// foreign keys). Dependents and sources come from the views' rewrite rules.
const char* const k_relation_sql = R"SQL(
SELECT c.oid::int8, c.oid::regclass::text, c.relkind::text, c.relispartition,
       ARRAY(SELECT i.inhrelid::int8 FROM pg_catalog.pg_inherits AS i
              WHERE i.inhparent = c.oid ORDER BY i.inhrelid),
       ARRAY(SELECT x.indexrelid::int8 FROM pg_catalog.pg_index AS x
              WHERE x.indrelid = c.oid ORDER BY x.indexrelid),
       c.reltoastrelid::int8,
       coalesce((SELECT x.indrelid::int8 FROM pg_catalog.pg_index AS x
                  WHERE x.indexrelid = c.oid), 0),
       coalesce((SELECT p.partdefid::int8 FROM pg_catalog.pg_partitioned_table AS p
                  WHERE p.partrelid = c.oid), 0),
       ARRAY(SELECT k.conname || '=' || k.confrelid::int8 FROM pg_catalog.pg_constraint AS k
              WHERE k.conrelid = c.oid AND k.contype = 'f' ORDER BY k.conname),
       ARRAY(SELECT DISTINCT k.conrelid::int8 FROM pg_catalog.pg_constraint AS k
              WHERE k.confrelid = c.oid AND k.contype = 'f' ORDER BY 1),
       ARRAY(SELECT DISTINCT r.ev_class::int8
               FROM pg_catalog.pg_depend AS d
               JOIN pg_catalog.pg_rewrite AS r ON r.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.refobjid = c.oid AND r.ev_class <> c.oid ORDER BY 1),
       ARRAY(SELECT DISTINCT d.refobjid::int8
               FROM pg_catalog.pg_rewrite AS r
               JOIN pg_catalog.pg_depend AS d
                 ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
              WHERE r.ev_class = c.oid
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.refobjid <> c.oid ORDER BY 1),
       ARRAY(SELECT d.objid::int8
               FROM pg_catalog.pg_depend AS d
               JOIN pg_catalog.pg_class AS s ON s.oid = d.objid AND s.relkind = 'S'
              WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                AND d.refobjid = c.oid AND d.deptype IN ('a', 'i') ORDER BY 1)
  FROM pg_catalog.pg_class AS c
 WHERE c.oid = $1::pg_catalog.oid
)SQL";

// Postgres array text of plain values ({1,2,3} or {name=1,...}; no quoting needed for
// numbers, and constraint names with commas or quotes come back quoted).
std::vector<std::string> array_items(const pqxx::field& field) {
  std::vector<std::string> out;
  auto parser = field.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) out.push_back(item.second);
  }
  return out;
}

std::vector<Oid> oids(const pqxx::field& field) {
  std::vector<Oid> out;
  for (const std::string& item : array_items(field)) out.push_back(std::stoll(item));
  return out;
}

std::vector<ForeignKey> foreign_keys(const pqxx::field& field) {
  std::vector<ForeignKey> out;
  for (const std::string& item : array_items(field)) {
    const auto eq = item.rfind('=');
    out.push_back(ForeignKey{item.substr(0, eq), std::stoll(item.substr(eq + 1))});
  }
  return out;
}

}  // namespace

void use_default_search_path(pqxx::work& tx) {
  tx.exec(k_default_search_path_sql);
}

std::optional<Oid> PgCatalogLookup::resolve(const std::string& name) {
  const pqxx::row row = m_tx.exec_params1("SELECT pg_catalog.to_regclass($1)::oid::int8", name);
  if (row[0].is_null()) return std::nullopt;
  return row[0].as<Oid>();
}

CatalogRelation PgCatalogLookup::relation(Oid oid) {
  const pqxx::result result = m_tx.exec_params(k_relation_sql, oid);
  CatalogRelation r;
  if (result.empty()) return r;
  const pqxx::row& row = result[0];
  r.oid = row[0].as<Oid>();
  r.name = row[1].as<std::string>();
  r.kind = row[2].as<std::string>().front();
  r.is_partition = row[3].as<bool>();
  r.children = oids(row[4]);
  r.indexes = oids(row[5]);
  r.toast = row[6].as<Oid>();
  r.index_table = row[7].as<Oid>();
  r.default_partition = row[8].as<Oid>();
  r.foreign_keys = foreign_keys(row[9]);
  r.referencing = oids(row[10]);
  r.dependents = oids(row[11]);
  r.sources = oids(row[12]);
  r.sequences = oids(row[13]);
  return r;
}

}  // namespace lockwatch
