#pragma once

#include <chrono>
#include <pqxx/pqxx>
#include <vector>

#include "core/name_cache.hpp"

namespace lockwatch {

// Reads pg_database and pg_roles whole into the cache. Both are small; the read takes
// AccessShareLock on them for one statement, under the session's lock_timeout. Throws
// (the cache is left as it was) when it cannot.
void read_roles_and_databases(pqxx::connection& connection, NameCache& names,
                              NameCache::Clock::time_point now);

// Resolves relation oids through regclass, i.e. the session's catalog cache: no relation
// lock is taken unless the cache misses, and then only on pg_class, briefly. With the
// session's search_path pinned to pg_catalog every user relation comes out schema-qualified.
void read_relation_names(pqxx::connection& connection, NameCache& names,
                         const std::vector<NameCache::Oid>& oids, NameCache::Clock::time_point now);

}  // namespace lockwatch
