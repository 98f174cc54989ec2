#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/observation.hpp"

namespace lockwatch {

// "65365 (api, idle in transaction 312s: SELECT ...) -> 79250 (migrate, waiting 45s for
// AccessExclusiveLock on relation public.accounts: ALTER TABLE ...) -> 77970 -> 79337": the
// root and first waiter in detail, then pids, at most `max_sessions` of them.
std::string describe_chain(const Observation& observation, const RootBlocker& root,
                           std::size_t max_sessions = 6);

// A count as the chain log compares it: exact below 10, then by order of magnitude
// (10..99 -> 10, 100..999 -> 100, ...), so a queue that grows by one is no news.
int magnitude(int count);

// Remembers which chains were logged, so each one's appearance, change and clearing is
// logged once rather than on every poll. A change is a new root, a root whose chain
// length or count of sessions held up changes order of magnitude, or a root a pooler now
// names the client of (or names another): the pooler is read after the chain appears.
class ChainLog {
 public:
  // The lines to log for this observation: changed roots in rank order, then cleared ones.
  std::vector<std::string> update(const Observation& observation);

 private:
  struct Logged {
    std::string label;   // how the cleared line names the root
    int chain = 0;       // magnitude() of the chain length
    int held_up = 0;     // magnitude() of the sessions held up
    std::string pooler;  // pooler_suffix() of the root: who is behind it, when known
  };
  std::map<std::string, Logged> m_logged;  // by root identity (pid and backend start, or gid)
};

}  // namespace lockwatch
