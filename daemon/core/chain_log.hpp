#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/observation.hpp"

namespace lockwatch {

// "65365 (api, idle in transaction 312s: SELECT ...) -> 79250 (migrate, waiting 45s: ALTER
// TABLE ...) -> 77970 -> 79337": the root and first waiter in detail, then pids.
std::string describe_chain(const Observation& observation, const RootBlocker& root);

// "api, idle in transaction 312s: SELECT ..." for one backend (`query_chars` of its query).
std::string describe_backend(const Observation& observation, int pid, std::size_t query_chars);

// Remembers which chains were logged, so each one's appearance, change and clearing is
// logged once rather than on every poll.
class ChainLog {
 public:
  // The lines to log for this observation: changed roots in rank order, then cleared ones.
  std::vector<std::string> update(const Observation& observation);

 private:
  std::map<int, std::string> m_logged;  // root pid -> what its chain looked like
};

}  // namespace lockwatch
