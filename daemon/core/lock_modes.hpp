#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A set of lock modes, bit n for the mode with value n (PostgreSQL's LOCKMASK, shifted by
// one: its bit 0 is NoLock).
using LockMask = unsigned;

constexpr LockMask mask_of(LockMode mode) {
  return 1U << static_cast<unsigned>(mode);
}

// The modes that conflict with `mode` (PostgreSQL's conflictTab[mode]).
LockMask conflict_mask(LockMode mode);

// True when some mode in `held` conflicts with a request for `mode`.
inline bool conflicts(LockMode mode, LockMask held) {
  return (conflict_mask(mode) & held) != 0;
}

// The modes of a mask, weakest first.
std::vector<LockMode> modes_in(LockMask mask);

// The mode pg_locks spells "AccessExclusiveLock", or nullopt for anything else (SIReadLock).
std::optional<LockMode> from_pg_locks_name(std::string_view name);

}  // namespace lockwatch
