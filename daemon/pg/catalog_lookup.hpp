#pragma once

#include <pqxx/pqxx>
#include <string>

#include "core/lock_footprint.hpp"

namespace lockwatch {

// The catalog of the connected database, read one relation at a time in `tx` (whose
// search_path decides how names resolve and print). Reads only catalogs, so it takes only
// ACCESS SHARE locks on them, under the session's lock_timeout.
class PgCatalogLookup : public CatalogLookup {
 public:
  explicit PgCatalogLookup(pqxx::work& tx) : m_tx(tx) {}

  std::optional<Oid> resolve(const std::string& name) override;
  CatalogRelation relation(Oid oid) override;

 private:
  pqxx::work& m_tx;
};

// Makes `tx` resolve and print names on the search_path the role has by default (the
// watchdog's session pins its own to pg_catalog): how the operator's names read in psql.
void use_default_search_path(pqxx::work& tx);

}  // namespace lockwatch
