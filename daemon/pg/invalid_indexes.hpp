#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/lock_footprint.hpp"

namespace lockwatch {

// An index PostgreSQL marks INVALID (pg_index.indisvalid false): what a CREATE INDEX
// CONCURRENTLY that failed or was cancelled leaves behind.
struct InvalidIndex {
  Oid oid = 0;
  std::string name;  // as psql shows it on the role's default search_path
};

// The INVALID indexes on `tables`, and those of `indexes` that exist and are INVALID
// (names as SQL text; ones that do not exist are skipped).
std::vector<InvalidIndex> read_invalid_indexes(pqxx::connection& connection,
                                               const std::vector<std::string>& tables,
                                               const std::vector<std::string>& indexes);

}  // namespace lockwatch
