#include "core/observation.hpp"

#include <algorithm>

namespace lockwatch {
namespace {

BackendIndex index_backends(const ActivitySnapshot& snapshot) {
  BackendIndex index;
  index.reserve(snapshot.backends.size());
  for (const Backend& backend : snapshot.backends) index.emplace(backend.pid, &backend);
  return index;
}

// Parallel workers act for their leader: the graph's sessions are leaders.
LeaderMap leaders_of(const ActivitySnapshot& snapshot) {
  LeaderMap leaders;
  for (const Backend& b : snapshot.backends) {
    if (b.leader_pid != 0 && b.leader_pid != b.pid) leaders.emplace(b.pid, b.leader_pid);
  }
  return leaders;
}

SessionWaits session_waits(const WaitGraph& graph, const BackendIndex& index, Micros now) {
  SessionWaits waits;
  for (const LockWait& w : graph.all_waits()) {
    std::optional<Micros> since = w.since;
    if (!since) {
      // No waitstart (PostgreSQL 13, or the instant before the server sets it): the
      // statement's start is the best bound there is.
      const auto it = index.find(w.pid);
      if (it != index.end()) since = it->second->query_start;
    }
    double& longest = waits[w.session];
    longest = std::max(longest, seconds_since(since, now));
  }
  return waits;
}

}  // namespace

Observation::Observation(ActivitySnapshot activity, LockSnapshot locks)
    : m_activity(std::move(activity)),
      m_lock_snapshot(std::move(locks)),
      m_index(index_backends(m_activity)),
      m_graph(build_wait_graph(m_lock_snapshot, leaders_of(m_activity))),
      m_waits(session_waits(m_graph, m_index, m_activity.taken_at)),
      m_locks(analyse_locks(m_graph, m_waits)) {}

const Backend* Observation::backend(int pid) const {
  const auto it = m_index.find(pid);
  return it == m_index.end() ? nullptr : it->second;
}

const PreparedXact* Observation::prepared(int session) const {
  if (!is_prepared_session(session)) return nullptr;
  const auto& all = m_lock_snapshot.prepared;
  const auto it = std::find_if(all.begin(), all.end(),
                               [session](const PreparedXact& p) { return p.session == session; });
  return it == all.end() ? nullptr : &*it;
}

double Observation::wait_seconds(int session) const {
  const auto it = m_waits.find(session);
  return it == m_waits.end() ? 0.0 : it->second;
}

const PoolerLink* Observation::pooler_link(int session) const {
  const auto it = m_pooler_links.find(session);
  return it == m_pooler_links.end() ? nullptr : &it->second;
}

bool Observation::is_ghost_lock_holder(int session) const {
  const PoolerLink* link = pooler_link(session);
  if (!link || link->client) return false;
  const auto waiters = m_graph.waiters_of(session);
  return std::any_of(waiters.begin(), waiters.end(), [](const WaitEdge& e) { return e.hard; });
}

int Observation::ghost_lock_holders() const {
  int count = 0;
  for (const auto& [pid, link] : m_pooler_links) count += is_ghost_lock_holder(pid) ? 1 : 0;
  return count;
}

}  // namespace lockwatch
