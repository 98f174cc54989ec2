#include "core/lock_modes.hpp"

#include <array>
#include <cctype>

namespace lockwatch {
namespace {

struct ModeNames {
  LockMode mode;
  const char* key;  // lower case, no separators, no "lock" suffix
  const char* sql;
  const char* pg_locks;
};

constexpr std::array<ModeNames, 8> k_modes = {{
    {LockMode::access_share, "accessshare", "ACCESS SHARE", "AccessShareLock"},
    {LockMode::row_share, "rowshare", "ROW SHARE", "RowShareLock"},
    {LockMode::row_exclusive, "rowexclusive", "ROW EXCLUSIVE", "RowExclusiveLock"},
    {LockMode::share_update_exclusive, "shareupdateexclusive", "SHARE UPDATE EXCLUSIVE",
     "ShareUpdateExclusiveLock"},
    {LockMode::share, "share", "SHARE", "ShareLock"},
    {LockMode::share_row_exclusive, "sharerowexclusive", "SHARE ROW EXCLUSIVE",
     "ShareRowExclusiveLock"},
    {LockMode::exclusive, "exclusive", "EXCLUSIVE", "ExclusiveLock"},
    {LockMode::access_exclusive, "accessexclusive", "ACCESS EXCLUSIVE", "AccessExclusiveLock"},
}};

// Bit m of entry n is set when mode n conflicts with mode m: PostgreSQL's LockConflicts
// table (src/backend/storage/lmgr/lock.c), indexed from ACCESS SHARE = 0.
constexpr std::array<unsigned, 8> k_conflicts = {
    0b1000'0000, 0b1100'0000, 0b1111'0000, 0b1111'1000,
    0b1110'1100, 0b1111'1100, 0b1111'1110, 0b1111'1111,
};

const ModeNames& names(LockMode mode) {
  return k_modes[static_cast<std::size_t>(mode)];
}

// "Access Exclusive Lock", "access_exclusive" and "AccessExclusiveLock" all become
// "accessexclusive".
std::string mode_key(std::string_view text) {
  std::string key;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (c != ' ' && c != '_' && c != '-') {
      return "";
    }
  }
  if (key.size() > 4 && key.ends_with("lock")) key.resize(key.size() - 4);
  return key;
}

}  // namespace

Expected<LockMode> parse_lock_mode(std::string_view text) {
  const std::string key = mode_key(text);
  for (const ModeNames& m : k_modes) {
    if (key == m.key) return m.mode;
  }
  return Error{"unknown lock mode \"" + std::string(text) +
               "\" (use e.g. \"ACCESS EXCLUSIVE\", \"SHARE UPDATE EXCLUSIVE\" or "
               "AccessExclusiveLock)"};
}

std::string sql_name(LockMode mode) {
  return names(mode).sql;
}

std::string pg_locks_name(LockMode mode) {
  return names(mode).pg_locks;
}

bool conflicts(LockMode a, LockMode b) {
  return (k_conflicts[static_cast<std::size_t>(a)] >> static_cast<unsigned>(b) & 1U) != 0;
}

LockMask conflict_mask(LockMode mode) {
  return k_conflicts[static_cast<std::size_t>(mode)];
}

std::vector<LockMode> modes_in(LockMask mask) {
  std::vector<LockMode> modes;
  for (const ModeNames& m : k_modes) {
    if ((mask & mask_of(m.mode)) != 0) modes.push_back(m.mode);
  }
  return modes;
}

std::optional<LockMode> from_pg_locks_name(std::string_view name) {
  for (const ModeNames& m : k_modes) {
    if (name == m.pg_locks) return m.mode;
  }
  return std::nullopt;
}

}  // namespace lockwatch
