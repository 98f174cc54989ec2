#include "metrics/poll_metrics.hpp"

#include "core/policy_engine.hpp"

namespace lockwatch {
namespace {

prometheus::Histogram& duration_histogram(prometheus::Registry& registry) {
  return prometheus::BuildHistogram()
      .Name("pg_lockwatch_poll_duration_seconds")
      .Help("Wall time of one poll of pg_stat_activity, including analysis.")
      .Register(registry)
      .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25, 0.5, 1, 2.5, 5});
}

prometheus::Counter& counter(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

}  // namespace

PollMetrics::PollMetrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_duration(duration_histogram(*m_registry)),
      m_polls(counter(*m_registry, "pg_lockwatch_polls_total", "Polls attempted.")),
      m_errors(counter(*m_registry, "pg_lockwatch_poll_errors_total",
                       "Polls that failed (connection, timeout or query error).")),
      m_stalls(counter(*m_registry, "pg_lockwatch_lock_snapshot_stalls_total",
                       "Times the lock table did not answer within the poll's deadline while "
                       "the server did (the standby session polled meanwhile).")),
      m_actions(prometheus::BuildCounter()
                    .Name("pg_lockwatch_policy_actions_total")
                    .Help("Policy decisions on root blockers, by policy, action and outcome.")
                    .Register(*m_registry)),
      m_pooler_reads(prometheus::BuildCounter()
                         .Name("pg_lockwatch_pooler_reads_total")
                         .Help("Reads of a pooler's admin console, by [[pooler]] name.")
                         .Register(*m_registry)),
      m_pooler_errors(prometheus::BuildCounter()
                          .Name("pg_lockwatch_pooler_read_errors_total")
                          .Help("Reads of a pooler's admin console that failed.")
                          .Register(*m_registry)) {}

void PollMetrics::pooler_read(std::string_view pooler, bool ok) {
  const prometheus::Labels labels{{"pooler", std::string(pooler)}};
  m_pooler_reads.Add(labels).Increment();
  auto& errors = m_pooler_errors.Add(labels);  // at zero from the first read
  if (!ok) errors.Increment();
}

void PollMetrics::poll_finished(double seconds, bool ok) {
  m_polls.Increment();
  if (!ok) m_errors.Increment();
  m_duration.Observe(seconds);
}

void PollMetrics::declare_policy(std::string_view policy, std::string_view action) {
  for (const Outcome outcome : settled_outcomes()) {
    m_actions.Add({{"policy", std::string(policy)},
                   {"action", std::string(action)},
                   {"outcome", std::string(to_string(outcome))}});
  }
}

void PollMetrics::policy_action(std::string_view policy, std::string_view action,
                                std::string_view outcome) {
  m_actions
      .Add({{"policy", std::string(policy)},
            {"action", std::string(action)},
            {"outcome", std::string(outcome)}})
      .Increment();
}

}  // namespace lockwatch
