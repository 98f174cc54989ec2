#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "core/activity.hpp"

namespace lockwatch {

// The pid pg_blocking_pids() reports for a lock held by a prepared transaction.
constexpr int k_prepared_xact_pid = 0;

// A backend that holds up others while waiting on nobody, or a deadlock cycle of such
// backends caught in the instant before PostgreSQL's deadlock detector breaks it.
struct RootBlocker {
  int pid = 0;                     // 0: a prepared transaction holds the lock
  std::vector<int> cycle;          // every member when the root is a deadlock cycle
  int blocked_total = 0;           // backends held up, transitively
  int max_chain_length = 0;        // longest chain from this root, in backends, root included
  std::vector<int> longest_chain;  // the pids along that chain, root first
  std::vector<int> waiters;        // every backend held up, nearest first
  double longest_wait_seconds = 0;
};

// The wait-for graph of one snapshot, reduced to what operators act on.
struct LockAnalysis {
  int waiting = 0;  // backends waiting on a heavyweight lock
  int blocked = 0;  // backends some other backend blocks
  int max_chain_length = 0;
  double longest_wait_seconds = 0;
  std::vector<RootBlocker> roots;  // by blocked_total, then chain length, descending
};

// Each backend of a snapshot by pid.
using BackendIndex = std::unordered_map<int, const Backend*>;
BackendIndex index_backends(const ActivitySnapshot& snapshot);

// Builds the wait-for graph (edges from each waiter's blockers, duplicates and parallel
// workers folded onto their leader) and finds roots, chains and what each root holds up.
// Linear in backends + edges; terminates on cycles.
LockAnalysis analyse_locks(const ActivitySnapshot& snapshot);

// How long a lock-waiting backend has waited, measured from the start of its statement
// (pg_stat_activity has no wait start); 0 for backends not waiting on a lock.
double lock_wait_seconds(const Backend& backend, Micros now);

}  // namespace lockwatch
