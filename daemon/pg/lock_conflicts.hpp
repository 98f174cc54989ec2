#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/lock_modes.hpp"

namespace lockwatch {

// The relation locks other sessions hold or await on `tables` in this database, read from
// pg_locks. Names resolve on the role's default search_path (the session's own is pinned
// to pg_catalog); throws std::invalid_argument naming a table that does not exist.
std::vector<RelationLock> read_relation_locks(pqxx::connection& connection,
                                              const std::vector<std::string>& tables);

}  // namespace lockwatch
