#pragma once

#include <string>

#include "core/lock_footprint.hpp"
#include "core/statement_lock.hpp"

namespace lockwatch {

// A heavyweight lock another session holds or awaits, as pg_locks shows it: on a
// relation, or an advisory lock.
struct HeldLock {
  int pid = 0;            // 0: a prepared transaction holds it
  bool advisory = false;  // else a relation lock
  Oid relation = 0;
  AdvisoryTarget key;  // classid, objid and objsubid of an advisory lock
  std::string mode;    // pg_locks spelling: "AccessShareLock"
  bool granted = false;
};

}  // namespace lockwatch
