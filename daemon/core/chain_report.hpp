#pragma once

#include <span>
#include <string>

#include "core/observation.hpp"

namespace lockwatch {

// What a policy decided about a root blocker, shown next to it in /chains.
struct RootVerdict {
  int pid = 0;
  std::string policy;
  std::string action;   // terminate | cancel | log
  std::string outcome;  // terminated, dry_run, protected, ...
};

// The /chains document: counts, then each root blocker with what it holds up, roots
// ordered by backends held up. The CLI's --json output reuses it.
std::string render_chains_json(const Observation& observation,
                               std::span<const RootVerdict> verdicts = {});

// "idle in transaction", "prepared transaction" or "unknown (gone)" for a blocker pid.
std::string describe_state(const Observation& observation, int pid);

}  // namespace lockwatch
