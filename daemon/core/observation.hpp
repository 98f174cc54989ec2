#pragma once

#include <unordered_map>

#include "core/activity.hpp"
#include "core/lock_graph.hpp"
#include "core/lock_snapshot.hpp"
#include "core/pooler_link.hpp"
#include "core/wait_graph.hpp"

namespace lockwatch {

// What one poll read: the activity and, when some backend waited, the lock manager.
struct PollSnapshots {
  ActivitySnapshot activity;
  LockSnapshot locks;
};

// Each backend of a snapshot by pid.
using BackendIndex = std::unordered_map<int, const Backend*>;

// One poll, analysed: the immutable value every publisher (metrics, JSON, logs, policies,
// the CLI) reads. The wait-for graph is built here, once. Not copyable, since the indexes
// point into its own snapshots.
class Observation {
 public:
  explicit Observation(ActivitySnapshot activity, LockSnapshot locks = {});
  explicit Observation(PollSnapshots snapshots)
      : Observation(std::move(snapshots.activity), std::move(snapshots.locks)) {}
  Observation(const Observation&) = delete;
  Observation& operator=(const Observation&) = delete;

  const ActivitySnapshot& activity() const { return m_activity; }
  const LockSnapshot& lock_snapshot() const { return m_lock_snapshot; }
  const WaitGraph& graph() const { return m_graph; }
  const LockAnalysis& locks() const { return m_locks; }
  Micros now() const { return m_activity.taken_at; }

  // The backend with this pid, or nullptr (a prepared transaction, a backend that
  // vanished, or one the daemon's quiet poll did not return).
  const Backend* backend(int pid) const;

  // The prepared transaction a (negative) session id stands for, or nullptr.
  const PreparedXact* prepared(int session) const;

  // How long the session has waited for a lock: its longest member wait, from
  // pg_locks.waitstart (the waiting statement's start where the server gives none); 0
  // for a session that waits for no lock.
  double wait_seconds(int session) const;

  // What the poolers said about the backends that are their server connections; set once,
  // by whoever read the poolers, before the observation is shared.
  void set_pooler_links(PoolerLinks links) { m_pooler_links = std::move(links); }
  const PoolerLinks& pooler_links() const { return m_pooler_links; }
  const PoolerLink* pooler_link(int session) const;

  // A ghost lock: the session holds a lock others wait for, is a pooler's server
  // connection, and the pooler links it to no client it lists. Nobody will end it.
  bool is_ghost_lock_holder(int session) const;
  int ghost_lock_holders() const;

 private:
  ActivitySnapshot m_activity;
  LockSnapshot m_lock_snapshot;
  BackendIndex m_index;
  WaitGraph m_graph;
  SessionWaits m_waits;
  LockAnalysis m_locks;
  PoolerLinks m_pooler_links;
};

}  // namespace lockwatch
