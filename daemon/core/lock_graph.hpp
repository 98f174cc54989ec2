#pragma once

#include <unordered_map>
#include <vector>

#include "core/wait_graph.hpp"

namespace lockwatch {

// A session that holds up others while waiting for no lock itself, or a deadlock cycle of
// waiting sessions caught in the instant before PostgreSQL's deadlock detector breaks it.
struct RootBlocker {
  int pid = 0;                     // the session (negative: a prepared transaction)
  std::vector<int> cycle;          // every member when the root is a deadlock cycle
  int blocked_total = 0;           // sessions held up, transitively
  int max_chain_length = 0;        // longest chain from this root, in sessions, root included
  std::vector<int> longest_chain;  // the sessions along that chain, root first
  std::vector<int> waiters;        // every session held up, nearest first
  double longest_wait_seconds = 0;
};

// The wait-for graph of one poll, reduced to what operators act on.
struct LockAnalysis {
  int waiting = 0;  // backends waiting for a heavyweight lock (parallel workers included)
  int blocked = 0;  // sessions some other session holds up
  int max_chain_length = 0;
  double longest_wait_seconds = 0;
  std::vector<RootBlocker> roots;  // by blocked_total, then chain length, descending
  // Waiting sessions the graph holds up with no blocker it can name (a queue position the
  // snapshot cannot show); never reported as roots.
  std::vector<int> unexplained;
};

// How long each waiting session has waited (its longest member wait), in seconds.
using SessionWaits = std::unordered_map<int, double>;

// Roots, chains and what each root holds up. Strongly connected components are collapsed,
// so a cycle is one root and never loops; a session that waits for a lock is never a root.
// Linear in sessions + edges (plus one breadth-first walk per root).
LockAnalysis analyse_locks(const WaitGraph& graph, const SessionWaits& waits);

}  // namespace lockwatch
