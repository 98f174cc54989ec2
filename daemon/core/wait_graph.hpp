#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/lock_snapshot.hpp"

namespace lockwatch {

// One member of a session waiting for a lock (a parallel group can wait on several).
struct LockWait {
  int session = 0;
  int pid = 0;    // the backend that waits: the session itself or one of its workers
  int queue = 0;  // index into LockSnapshot::queues
  LockMode mode = LockMode::access_share;
  std::optional<Micros> since;  // pg_locks.waitstart
};

// "`blocker` holds `waiter` up on queue `queue`". Hard: the blocker holds a mode that
// conflicts with the request; soft: it waits, ahead in the queue, for a conflicting mode.
struct WaitEdge {
  int blocker = 0;
  int waiter = 0;
  int queue = 0;
  bool hard = false;
  LockMask modes = 0;  // hard: the blocker's granted modes that conflict; soft: its request
};

// The wait-for graph of one lock snapshot, between sessions (a parallel worker is folded
// onto its leader, as pg_blocking_pids() reports leaders). Built once per poll; the
// analysis, the tree, the reports and the policies all read this one.
class WaitGraph {
 public:
  WaitGraph() = default;
  WaitGraph(std::vector<WaitEdge> edges, std::vector<LockWait> waits);

  // Every session that waits, blocks or both, ascending.
  const std::vector<int>& sessions() const { return m_sessions; }

  // What holds `session` up directly, and whom it holds up directly.
  std::span<const WaitEdge> blockers_of(int session) const;
  std::span<const WaitEdge> waiters_of(int session) const;

  // The locks the session's members wait for; empty when it waits for none.
  std::span<const LockWait> waits_of(int session) const;
  bool is_waiting(int session) const { return !waits_of(session).empty(); }

  // Backends (members) waiting for a lock.
  std::size_t waiting_backends() const { return m_waits.size(); }
  std::size_t edge_count() const { return m_by_waiter.size(); }
  std::span<const LockWait> all_waits() const { return m_waits; }

 private:
  using Range = std::pair<std::size_t, std::size_t>;

  std::vector<WaitEdge> m_by_waiter;   // sorted by waiter, then blocker
  std::vector<WaitEdge> m_by_blocker;  // sorted by blocker, then waiter
  std::vector<LockWait> m_waits;       // sorted by session
  std::unordered_map<int, Range> m_blockers;
  std::unordered_map<int, Range> m_waiters;
  std::unordered_map<int, Range> m_wait_ranges;
  std::vector<int> m_sessions;
};

// The session a backend acts for: its parallel group's leader, else itself.
using LeaderMap = std::unordered_map<int, int>;  // worker pid -> leader pid

// Builds the graph with PostgreSQL's rules (GetBlockerStatusData, ProcSleep): on each
// contended object, a waiter is held up by every other group's entry that holds a mode
// conflicting with its request (hard), and by every conflicting request queued ahead of
// it (soft). Queue order is waitstart order, except that a waiter already holding a mode
// that conflicts with a queued request was put ahead of the first such request. A soft
// or hard edge that a path through another waiter of the same queue already implies is
// left out, so a queue of N conflicting requests has O(N) edges, and every waiter keeps
// exactly the transitive set of blockers that pg_blocking_pids() gives it.
WaitGraph build_wait_graph(const LockSnapshot& locks, const LeaderMap& leaders);

}  // namespace lockwatch
