#pragma once

#include "core/activity.hpp"
#include "core/lock_graph.hpp"

namespace lockwatch {

// One poll, analysed: the immutable value every publisher (metrics, JSON, logs, policies)
// reads. Not copyable, since the index points into its own snapshot.
class Observation {
 public:
  explicit Observation(ActivitySnapshot activity)
      : m_activity(std::move(activity)),
        m_index(index_backends(m_activity)),
        m_locks(analyse_locks(m_activity)) {}
  Observation(const Observation&) = delete;
  Observation& operator=(const Observation&) = delete;

  const ActivitySnapshot& activity() const { return m_activity; }
  const LockAnalysis& locks() const { return m_locks; }
  Micros now() const { return m_activity.taken_at; }

  // The backend with this pid, or nullptr (pid 0, or a blocker that vanished).
  const Backend* backend(int pid) const {
    const auto it = m_index.find(pid);
    return it == m_index.end() ? nullptr : it->second;
  }

 private:
  ActivitySnapshot m_activity;
  BackendIndex m_index;
  LockAnalysis m_locks;
};

}  // namespace lockwatch
