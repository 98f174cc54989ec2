#pragma once

#include <map>
#include <utility>
#include <vector>

#include "core/observation.hpp"
#include "core/policy_engine.hpp"

namespace lockwatch {

// Signals whose effect nobody saw (Outcome::unknown: the answer was lost, or the backend
// had not exited when pg_terminate_backend stopped waiting), settled by later polls: a
// terminated session is gone, a cancelled one has moved on. One still unchanged after
// `window` is `failed`, and its session may be decided on again.
class SignalConfirmation {
 public:
  explicit SignalConfirmation(std::chrono::seconds window = std::chrono::seconds(10))
      : m_window(window) {}

  // Remembers an unknown decision from `now` on (once per session).
  void add(const Decision& decision, MonotonicTime now);

  // Whether a signal to this session still awaits its confirmation.
  bool awaiting(const SessionIdentity& target) const;

  // The pids whose rows the next poll must return, so that a session still there is not
  // taken for one that is gone (the quiet poll returns only backends that matter).
  std::vector<int> pids() const;

  // The decisions this poll settles, with their outcome and reason; they are forgotten.
  std::vector<Decision> confirm(const Observation& observation, MonotonicTime now);

 private:
  struct Pending {
    Decision decision;
    MonotonicTime since;
  };

  std::chrono::seconds m_window;
  std::map<std::pair<int, Micros>, Pending> m_pending;  // by pid, backend_start
};

}  // namespace lockwatch
