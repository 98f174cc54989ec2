#include "core/signal_confirmation.hpp"

#include <optional>
#include <string>

namespace lockwatch {
namespace {

struct Seen {
  Outcome outcome;
  const char* reason;
};

// What this poll shows of the signal's effect, or nullopt while it shows nothing yet.
std::optional<Seen> seen_effect(const Decision& d, const Observation& obs) {
  const Backend* b = obs.backend(d.target.pid);
  const bool terminate = d.action == PolicyAction::terminate;
  const Outcome done = terminate ? Outcome::terminated : Outcome::cancelled;
  if (!b || b->backend_start.value_or(0) != d.target.backend_start) {
    return Seen{done, "confirmed by a later poll: the session is gone"};
  }
  // A cancelled statement ends, so the state_change moves; a terminated session is only
  // done once it is gone.
  const bool moved_on =
      b->state != d.target.state || b->state_change.value_or(0) != d.target.state_change;
  if (!terminate && moved_on) return Seen{done, "confirmed by a later poll: the statement ended"};
  return std::nullopt;
}

}  // namespace

void SignalConfirmation::add(const Decision& decision, MonotonicTime now) {
  m_pending.try_emplace({decision.target.pid, decision.target.backend_start},
                        Pending{decision, now});
}

std::vector<int> SignalConfirmation::pids() const {
  std::vector<int> out;
  for (const auto& [key, pending] : m_pending) out.push_back(key.first);
  return out;
}

bool SignalConfirmation::awaiting(const SessionIdentity& target) const {
  return m_pending.count({target.pid, target.backend_start}) != 0;
}

std::vector<Decision> SignalConfirmation::confirm(const Observation& obs, MonotonicTime now) {
  std::vector<Decision> settled;
  for (auto it = m_pending.begin(); it != m_pending.end();) {
    Decision d = it->second.decision;
    const auto seen = seen_effect(d, obs);
    if (!seen && now - it->second.since < m_window) {
      ++it;
      continue;
    }
    d.outcome = seen ? seen->outcome : Outcome::failed;
    d.reason = seen ? seen->reason
                    : "still unchanged " + std::to_string(m_window.count()) +
                          "s after the signal (" + d.reason + ")";
    settled.push_back(std::move(d));
    it = m_pending.erase(it);
  }
  return settled;
}

}  // namespace lockwatch
