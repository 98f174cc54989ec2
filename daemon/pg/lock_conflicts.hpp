#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "core/held_lock.hpp"

namespace lockwatch {

// The locks other sessions of this database hold or await on `relations`, and every
// advisory lock they hold or await when `advisory`, read from pg_locks in `tx`.
std::vector<HeldLock> read_held_locks(pqxx::work& tx, const std::vector<Oid>& relations,
                                      bool advisory);

}  // namespace lockwatch
