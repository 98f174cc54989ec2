#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/activity.hpp"
#include "core/lock_modes.hpp"

namespace lockwatch {

// pg_locks.locktype: what kind of object a heavyweight lock is on. `other` stands for a
// type this build does not know (a newer server's); its pg_locks spelling is kept.
enum class LockType {
  relation,
  extend,
  frozenid,
  page,
  tuple,
  transactionid,
  virtualxid,
  spectoken,
  object,
  userlock,
  advisory,
  applytransaction,
  other,
};

LockType parse_lock_type(std::string_view locktype);

// The pg_locks spelling ("transactionid"); "other" for LockType::other.
std::string_view to_string(LockType type);

// Every LockType, in declaration order: the label values of the per-type metrics.
const std::vector<LockType>& all_lock_types();

// The object a lock is on: pg_locks' tag columns. Which fields mean something depends on
// the type (relation and tuple: database, relation, page, tuple; transactionid:
// transactionid; advisory: database, classid, objid, objsubid; ...); the others stay at
// their defaults, so two targets are the same object exactly when they compare equal.
struct LockTarget {
  LockType type = LockType::other;
  std::string type_name;       // pg_locks.locktype as the server spelled it
  std::uint32_t database = 0;  // 0: a shared object, or a type without a database
  std::uint32_t relation = 0;
  std::int64_t page = -1;
  int tuple = -1;
  std::string virtualxid;
  std::int64_t transactionid = -1;
  std::uint32_t classid = 0;
  std::uint32_t objid = 0;
  int objsubid = -1;

  bool operator==(const LockTarget&) const = default;
};

// Sessions are graph nodes: a backend's pid, or, for a prepared transaction (which holds
// locks without a backend), a negative id that stands for it within one snapshot.
inline bool is_prepared_session(int session) {
  return session < 0;
}

// One row of pg_lock_status() on a target: a mode a session holds, or the one it waits for.
struct LockEntry {
  int session = 0;  // the backend's pid, or a prepared transaction's negative id
  LockMode mode = LockMode::access_share;
  bool granted = false;
  std::optional<Micros> waitstart;  // waiting entries, PostgreSQL 14+ (pg_locks.waitstart)
};

// Every entry on one contended object (one that some session waits for), in the order
// pg_lock_status() returned them.
struct LockQueue {
  LockTarget target;
  std::vector<LockEntry> entries;
};

// A prepared transaction, from pg_prepared_xact().
struct PreparedXact {
  int session = 0;  // its negative id in LockEntry::session
  std::int64_t transaction = 0;
  std::string gid;
  std::optional<Micros> prepared_at;
  std::string owner;
  std::string database;
};

// The poll's read of the lock manager, taken (once) only when some backend waited on a
// heavyweight lock: the contended objects with all their entries, the prepared
// transactions among the holders, and the names of the relations involved.
struct LockSnapshot {
  bool taken = false;
  std::vector<LockQueue> queues;
  std::vector<PreparedXact> prepared;
  // Schema-qualified names of the relations in `queues` that the name cache knew: those of
  // `names_database` (the one the watchdog is connected to) and shared catalogs only, since
  // relation oids mean something only within their database.
  std::uint32_t names_database = 0;
  std::unordered_map<std::uint32_t, std::string> relation_names;
  std::unordered_map<std::uint32_t, std::string> database_names;
};

}  // namespace lockwatch
