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
};

// The blocking forest as a tree, one backend per line ("pid  app  state age  query"),
// roots first in the order of LockAnalysis::roots. A waiter is drawn under the blockers it
// waits on directly, not under those that already block another of its blockers (so a
// queue reads as a chain); one with several such blockers appears under each, marked "also
// blocked by", with its own waiters drawn once. Cycles never loop. Empty when nobody waits.
std::string render_chain_tree(const Observation& observation, const TreeOptions& options = {});

// The roots of the chains in front of `pid` (those holding it up that wait on nobody).
std::vector<int> roots_in_front_of(const Observation& observation, int pid);

}  // namespace lockwatch
