#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string_view>

namespace lockwatch {

// The counters and histogram of the poll loop and of policy actions.
class PollMetrics {
 public:
  PollMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return m_registry; }

  // Records one poll: its wall time and whether it succeeded.
  void poll_finished(double seconds, bool ok);

  // Creates the policy's series at zero for every outcome, so that rate() and increase()
  // see the first action.
  void declare_policy(std::string_view policy, std::string_view action);

  // Counts one stall: the main poll's lock read waited past its deadline while the server
  // answered, so the standby session polled instead.
  void lock_snapshot_stall() { m_stalls.Increment(); }

  // Counts one read of a pooler's admin console (and its failure).
  void pooler_read(std::string_view pooler, bool ok);

  // Counts one audited policy decision.
  void policy_action(std::string_view policy, std::string_view action, std::string_view outcome);

 private:
  std::shared_ptr<prometheus::Registry> m_registry;
  prometheus::Histogram& m_duration;
  prometheus::Counter& m_polls;
  prometheus::Counter& m_errors;
  prometheus::Counter& m_stalls;
  prometheus::Family<prometheus::Counter>& m_actions;
  prometheus::Family<prometheus::Counter>& m_pooler_reads;
  prometheus::Family<prometheus::Counter>& m_pooler_errors;
};

}  // namespace lockwatch
