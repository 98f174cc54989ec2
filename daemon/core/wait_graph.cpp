#include "core/wait_graph.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>

namespace lockwatch {
namespace {

constexpr int k_modes = 8;

LockMode mode_at(int index) {
  return static_cast<LockMode>(index);
}

// One backend's entries on one object: the modes it holds and the one it waits for.
struct Member {
  int pid = 0;
  int session = 0;
  LockMask held = 0;
  std::optional<LockMode> wants;
  std::optional<Micros> since;
};

int session_of(int pid, const LeaderMap& leaders) {
  if (is_prepared_session(pid)) return pid;
  const auto it = leaders.find(pid);
  return it == leaders.end() ? pid : it->second;
}

std::vector<Member> members_of(const LockQueue& queue, const LeaderMap& leaders) {
  std::map<int, Member> by_pid;
  for (const LockEntry& e : queue.entries) {
    Member& m = by_pid[e.session];
    m.pid = e.session;
    m.session = session_of(e.session, leaders);
    if (e.granted) {
      m.held |= mask_of(e.mode);
    } else {
      m.wants = e.mode;
      m.since = e.waitstart;
    }
  }
  std::vector<Member> members;
  for (auto& [pid, m] : by_pid) members.push_back(m);
  return members;
}

// The wait queue as PostgreSQL keeps it: arrival (waitstart) order, except that ProcSleep
// puts a waiter whose group already holds a mode conflicting with a queued request just
// ahead of the first such request.
std::vector<const Member*> wait_queue(const std::vector<Member>& members) {
  std::map<int, LockMask> group_held;
  for (const Member& m : members) group_held[m.session] |= m.held;
  std::vector<const Member*> arrivals;
  for (const Member& m : members) {
    if (m.wants) arrivals.push_back(&m);
  }
  static constexpr Micros k_unknown = std::numeric_limits<Micros>::max();  // no waitstart yet
  std::stable_sort(arrivals.begin(), arrivals.end(), [](const Member* a, const Member* b) {
    return a->since.value_or(k_unknown) < b->since.value_or(k_unknown);
  });
  std::vector<const Member*> queue;
  for (const Member* w : arrivals) {
    const LockMask mine = group_held[w->session];
    auto at = queue.end();
    if (mine != 0) {
      at = std::find_if(queue.begin(), queue.end(),
                        [mine](const Member* q) { return conflicts(*q->wants, mine); });
    }
    queue.insert(at, w);
  }
  return queue;
}

// The edges of one contended object, waiter by waiter in queue order.
class QueueEdges {
 public:
  QueueEdges(const std::vector<Member>& members, int queue_index, std::vector<WaitEdge>& out)
      : m_queue(wait_queue(members)), m_index(queue_index), m_out(out) {
    std::map<int, int> per_session;
    for (const Member& m : members) {
      ++per_session[m.session];
      if (m.held == 0) continue;
      if (m.wants) {
        m_upgraders.push_back(&m);
      } else {
        m_holders[m.held].push_back(&m);
      }
    }
    // Implied paths run through other waiters; a lock group with several members in the
    // queue makes some of those edges vanish (a group never blocks itself), so such a
    // queue keeps every edge.
    m_reduce = std::all_of(per_session.begin(), per_session.end(),
                           [](const auto& entry) { return entry.second == 1; });
  }

  void build() {
    for (std::size_t k = 0; k < m_queue.size(); ++k) {
      const Member& w = *m_queue[k];
      hard_edges(w);
      m_reduce ? kept_soft_edges(w) : all_soft_edges(w, k);
      const int mode = static_cast<int>(*w.wants);
      m_positions[mode].push_back(k);
      m_last[mode] = static_cast<long>(k);
    }
  }

 private:
  void add(const Member& blocker, const Member& waiter, bool hard, LockMask modes) {
    if (blocker.session == waiter.session) return;  // a group never blocks itself
    m_out.push_back(WaitEdge{blocker.session, waiter.session, m_index, hard, modes});
  }

  // A waiter ahead of `w` whose request conflicts both with `w`'s and with `modes` (a
  // mode held, or requested ahead): w -> that waiter -> the blocker is already a path.
  long interposer(LockMode wants, LockMask modes) const {
    long last = -1;
    for (int m = 0; m < k_modes; ++m) {
      if (m_last[m] < 0 || !conflicts(mode_at(m), mask_of(wants))) continue;
      if (conflicts(mode_at(m), modes)) last = std::max(last, m_last[m]);
    }
    return last;
  }

  void hard_edges(const Member& w) {
    const LockMode wants = *w.wants;
    for (const auto& [held, holders] : m_holders) {
      if (!conflicts(wants, held)) continue;
      if (m_reduce && interposer(wants, held) >= 0) continue;
      for (const Member* h : holders) add(*h, w, true, held & conflict_mask(wants));
    }
    for (const Member* u : m_upgraders) {
      if (u != &w && conflicts(wants, u->held)) add(*u, w, true, u->held & conflict_mask(wants));
    }
  }

  // Ahead of w, per conflicting mode m: only the requests after the last interposer that
  // conflicts with both (for a mode that conflicts with itself, just the nearest one).
  void kept_soft_edges(const Member& w) {
    const LockMode wants = *w.wants;
    for (int m = 0; m < k_modes; ++m) {
      if (m_positions[m].empty() || !conflicts(wants, mode_at(m))) continue;
      const long from = interposer(wants, mask_of(mode_at(m)));
      for (auto it = m_positions[m].rbegin();
           it != m_positions[m].rend() && static_cast<long>(*it) >= from; ++it) {
        soft_edge(*m_queue[*it], w);
      }
    }
  }

  void all_soft_edges(const Member& w, std::size_t k) {
    for (std::size_t j = 0; j < k; ++j) {
      if (conflicts(*w.wants, *m_queue[j]->wants)) soft_edge(*m_queue[j], w);
    }
  }

  // A holder of a conflicting mode blocks hard (hard_edges has it), whatever its place.
  void soft_edge(const Member& ahead, const Member& w) {
    if (conflicts(*w.wants, ahead.held)) return;
    add(ahead, w, false, mask_of(*ahead.wants));
  }

  std::vector<const Member*> m_queue;
  int m_index;
  std::vector<WaitEdge>& m_out;
  std::map<LockMask, std::vector<const Member*>> m_holders;  // holders not waiting here
  std::vector<const Member*> m_upgraders;  // hold a mode and wait for another here
  bool m_reduce = true;
  std::array<std::vector<std::size_t>, k_modes> m_positions;  // queue positions per mode
  std::array<long, k_modes> m_last{-1, -1, -1, -1, -1, -1, -1, -1};
};

bool edge_order(const WaitEdge& a, const WaitEdge& b) {
  if (a.waiter != b.waiter) return a.waiter < b.waiter;
  if (a.blocker != b.blocker) return a.blocker < b.blocker;
  return a.hard > b.hard;  // one edge per pair: the hard one when there are both
}

template <typename Key>
std::unordered_map<int, std::pair<std::size_t, std::size_t>> ranges(const std::vector<Key>& sorted,
                                                                    int (*key)(const Key&)) {
  std::unordered_map<int, std::pair<std::size_t, std::size_t>> out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && key(sorted[j]) == key(sorted[i])) ++j;
    out.emplace(key(sorted[i]), std::make_pair(i, j));
    i = j;
  }
  return out;
}

int by_waiter(const WaitEdge& e) {
  return e.waiter;
}
int by_blocker(const WaitEdge& e) {
  return e.blocker;
}
int by_session(const LockWait& w) {
  return w.session;
}

template <typename T>
std::span<const T> slice(const std::vector<T>& items,
                         const std::unordered_map<int, std::pair<std::size_t, std::size_t>>& index,
                         int session) {
  const auto it = index.find(session);
  if (it == index.end()) return {};
  return std::span<const T>(items).subspan(it->second.first, it->second.second - it->second.first);
}

}  // namespace

WaitGraph::WaitGraph(std::vector<WaitEdge> edges, std::vector<LockWait> waits)
    : m_by_waiter(std::move(edges)), m_waits(std::move(waits)) {
  std::sort(m_by_waiter.begin(), m_by_waiter.end(), edge_order);
  m_by_waiter.erase(std::unique(m_by_waiter.begin(), m_by_waiter.end(),
                                [](const WaitEdge& a, const WaitEdge& b) {
                                  return a.waiter == b.waiter && a.blocker == b.blocker;
                                }),
                    m_by_waiter.end());
  m_by_blocker = m_by_waiter;
  std::stable_sort(m_by_blocker.begin(), m_by_blocker.end(),
                   [](const WaitEdge& a, const WaitEdge& b) { return a.blocker < b.blocker; });
  std::stable_sort(m_waits.begin(), m_waits.end(),
                   [](const LockWait& a, const LockWait& b) { return a.session < b.session; });
  m_blockers = ranges(m_by_waiter, &by_waiter);
  m_waiters = ranges(m_by_blocker, &by_blocker);
  m_wait_ranges = ranges(m_waits, &by_session);
  for (const WaitEdge& e : m_by_waiter) {
    m_sessions.push_back(e.waiter);
    m_sessions.push_back(e.blocker);
  }
  for (const LockWait& w : m_waits) m_sessions.push_back(w.session);
  std::sort(m_sessions.begin(), m_sessions.end());
  m_sessions.erase(std::unique(m_sessions.begin(), m_sessions.end()), m_sessions.end());
}

std::span<const WaitEdge> WaitGraph::blockers_of(int session) const {
  return slice(m_by_waiter, m_blockers, session);
}

std::span<const WaitEdge> WaitGraph::waiters_of(int session) const {
  return slice(m_by_blocker, m_waiters, session);
}

std::span<const LockWait> WaitGraph::waits_of(int session) const {
  return slice(m_waits, m_wait_ranges, session);
}

WaitGraph build_wait_graph(const LockSnapshot& locks, const LeaderMap& leaders) {
  std::vector<WaitEdge> edges;
  std::vector<LockWait> waits;
  for (std::size_t q = 0; q < locks.queues.size(); ++q) {
    const std::vector<Member> members = members_of(locks.queues[q], leaders);
    for (const Member& m : members) {
      if (m.wants) {
        waits.push_back(LockWait{m.session, m.pid, static_cast<int>(q), *m.wants, m.since});
      }
    }
    QueueEdges(members, static_cast<int>(q), edges).build();
  }
  return WaitGraph(std::move(edges), std::move(waits));
}

}  // namespace lockwatch
