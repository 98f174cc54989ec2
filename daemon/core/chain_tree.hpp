#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/observation.hpp"

namespace lockwatch {

struct TreeOptions {
  std::optional<int> focus;  // draw only this backend and the ones in front of it
  std::string focus_label;   // marks the focus backend's line, e.g. "this DDL"
  std::size_t query_chars = 60;
  std::size_t max_waiters = 0;  // waiter lines per root; the rest are summed up. 0: all
  std::size_t max_roots = 0;    // roots drawn; the rest are summed up in one line. 0: all
};

// The blocking forest as a tree, one session per line ("pid  app  status  query"), roots
// first in the order of LockAnalysis::roots. A waiter's status says what it waits for and
// why ("waiting 45s for AccessExclusiveLock on relation public.accounts, held as
// AccessShareLock by 65365"). It is drawn under the sessions that hold it up directly, not
// under those that already block another of its blockers (so a queue reads as a chain);
// one with several such blockers appears under each, marked "also blocked by", with its own
// waiters drawn once. Cycles never loop. Empty when nobody waits.
std::string render_chain_tree(const Observation& observation, const TreeOptions& options = {});

// The roots of the chains in front of `pid` (those holding it up that wait on nobody).
std::vector<int> roots_in_front_of(const Observation& observation, int pid);

}  // namespace lockwatch
