#pragma once

#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace lockwatch {

// PostgreSQL's table-level lock modes, weakest first.
enum class LockMode {
  access_share,
  row_share,
  row_exclusive,
  share_update_exclusive,
  share,
  share_row_exclusive,
  exclusive,
  access_exclusive,
};

// One relation lock as pg_locks shows it.
struct RelationLock {
  int pid = 0;           // 0: a prepared transaction holds it
  std::string relation;  // as the operator named it
  std::string mode;      // pg_locks spelling, e.g. "AccessShareLock"
  bool granted = false;
};

// Reads "ACCESS EXCLUSIVE", "AccessExclusiveLock", "access_exclusive" or "access-exclusive"
// (any case); errors name the accepted spellings.
Expected<LockMode> parse_lock_mode(std::string_view text);

// "ACCESS EXCLUSIVE": the spelling of LOCK TABLE ... IN ... MODE.
std::string sql_name(LockMode mode);

// "AccessExclusiveLock": the spelling of pg_locks.mode.
std::string pg_locks_name(LockMode mode);

// True when a lock in mode `a` and one in mode `b` cannot be held at once by two
// transactions (PostgreSQL's conflict table; symmetric).
bool conflicts(LockMode a, LockMode b);

}  // namespace lockwatch
