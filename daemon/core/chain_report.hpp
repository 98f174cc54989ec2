#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/observation.hpp"

namespace lockwatch {

// What a policy decided about a root blocker, shown next to it in /chains.
struct RootVerdict {
  int pid = 0;
  std::string policy;
  std::string action;   // terminate | cancel | log
  std::string outcome;  // terminated, dry_run, protected, ...
};

// How much /chains and `check` show of a pile-up: the top roots in full, and for each the
// waiters nearest to it in detail; the rest are counted, grouped by what they wait for.
// 0 means no limit.
struct ReportLimits {
  std::size_t roots = 20;
  std::size_t waiters = 20;
  std::size_t chain = 10;  // sessions of a root's longest chain listed by pid
};

// Sessions waiting for the same mode on the same object.
struct WaiterGroup {
  int queue = 0;  // index into LockSnapshot::queues
  LockMode mode = LockMode::access_share;
  int sessions = 0;
  double longest_wait_seconds = 0;
};

// The waits of `sessions`, grouped by object and mode, largest group first.
std::vector<WaiterGroup> group_waiters(const Observation& observation,
                                       std::span<const int> sessions);

// The /chains document: counts, then each root blocker with what it holds up, roots
// ordered by sessions held up. The CLI's --json output reuses it.
std::string render_chains_json(const Observation& observation,
                               std::span<const RootVerdict> verdicts = {},
                               const ReportLimits& limits = {});

}  // namespace lockwatch
