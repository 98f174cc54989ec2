#include "pg/invalid_indexes.hpp"

#include "pg/catalog_lookup.hpp"

namespace lockwatch {
namespace {

const char* const k_invalid_sql = R"SQL(
SELECT c.oid::int8, c.oid::pg_catalog.regclass::text
  FROM pg_catalog.pg_index AS i
  JOIN pg_catalog.pg_class AS c ON c.oid = i.indexrelid
 WHERE NOT i.indisvalid
   AND (i.indrelid = ANY (SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest($1::text[]) AS t)
        OR i.indexrelid = ANY (SELECT pg_catalog.to_regclass(n)
                                 FROM pg_catalog.unnest($2::text[]) AS n))
 ORDER BY 2
)SQL";

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    out += out.size() > 1 ? "," : "";
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

std::vector<InvalidIndex> read_invalid_indexes(pqxx::connection& connection,
                                               const std::vector<std::string>& tables,
                                               const std::vector<std::string>& indexes) {
  pqxx::work tx(connection);
  use_default_search_path(tx);
  std::vector<InvalidIndex> out;
  for (const pqxx::row& row : tx.exec_params(k_invalid_sql, text_array(tables), text_array(indexes))) {
    out.push_back(InvalidIndex{row[0].as<Oid>(), row[1].as<std::string>()});
  }
  tx.commit();
  return out;
}

}  // namespace lockwatch
