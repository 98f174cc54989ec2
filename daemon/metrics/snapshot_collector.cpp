#include "metrics/snapshot_collector.hpp"

#include <map>

namespace lockwatch {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::size_t k_max_label_chars = 64;

MetricFamily gauge(std::string name, std::string help) {
  return MetricFamily{std::move(name), std::move(help), MetricType::Gauge, {}};
}

ClientMetric sample(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

MetricFamily single(std::string name, std::string help, double value) {
  MetricFamily family = gauge(std::move(name), std::move(help));
  family.metric.push_back(sample(value));
  return family;
}

// Label values come from clients (application_name): cap their length, without cutting a
// UTF-8 sequence in half.
std::string label_value(const std::string& text) {
  if (text.size() <= k_max_label_chars) return text;
  std::size_t cut = k_max_label_chars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

MetricFamily backends_by_state(const ActivitySnapshot& activity) {
  std::map<std::string, int> counts;
  for (const std::string& label : all_state_labels()) counts[label] = 0;
  for (const Backend& b : activity.backends) {
    const auto it = counts.find(state_label(b.state));
    if (b.is_client() && it != counts.end()) ++it->second;
  }
  MetricFamily family = gauge("pg_lockwatch_backends", "Client backends by state.");
  for (const auto& [state, count] : counts)
    family.metric.push_back(sample(count, {{"state", state}}));
  return family;
}

// Oldest transaction start and oldest idle-in-transaction state change, in seconds.
std::pair<double, double> oldest_ages(const ActivitySnapshot& activity) {
  double xact = 0;
  double idle = 0;
  for (const Backend& b : activity.backends) {
    if (!b.is_client()) continue;
    xact = std::max(xact, seconds_since(b.xact_start, activity.taken_at));
    if (b.state.rfind("idle in transaction", 0) == 0) {
      idle = std::max(idle, seconds_since(b.state_change, activity.taken_at));
    }
  }
  return {xact, idle};
}

MetricFamily root_blockers(const Observation& obs, int top) {
  MetricFamily family = gauge("pg_lockwatch_root_blocker_blocked_backends",
                              "Backends held up by each of the top root blockers.");
  const auto& roots = obs.locks().roots;
  for (std::size_t i = 0; i < roots.size() && static_cast<int>(i) < top; ++i) {
    const Backend* b = obs.backend(roots[i].pid);
    const Backend none;
    const Backend& who = b ? *b : none;
    family.metric.push_back(sample(
        roots[i].blocked_total,
        {{"rank", std::to_string(i + 1)},
         {"pid", std::to_string(roots[i].pid)},
         {"datname", label_value(who.datname)},
         {"usename", label_value(who.usename)},
         {"application_name", label_value(who.application_name)},
         {"state", b ? label_value(b->state) : (roots[i].pid == 0 ? "prepared" : "unknown")}}));
  }
  return family;
}

void add_observation(std::vector<MetricFamily>& out, const Observation& obs, int top_roots) {
  const LockAnalysis& locks = obs.locks();
  out.push_back(backends_by_state(obs.activity()));
  out.push_back(single("pg_lockwatch_lock_waiting_backends",
                       "Backends waiting on a heavyweight lock.", locks.waiting));
  out.push_back(single("pg_lockwatch_blocked_backends", "Backends held up by another backend.",
                       locks.blocked));
  out.push_back(single("pg_lockwatch_root_blockers",
                       "Backends that block others while waiting on nobody.",
                       static_cast<double>(locks.roots.size())));
  out.push_back(single("pg_lockwatch_max_chain_length",
                       "Longest blocking chain, in backends, root included.",
                       locks.max_chain_length));
  out.push_back(single("pg_lockwatch_longest_lock_wait_seconds",
                       "Longest current lock wait (from the waiting statement's start).",
                       locks.longest_wait_seconds));
  const auto [xact, idle] = oldest_ages(obs.activity());
  out.push_back(single("pg_lockwatch_oldest_transaction_seconds",
                       "Age of the oldest open transaction of a client backend.", xact));
  out.push_back(single("pg_lockwatch_oldest_idle_in_transaction_seconds",
                       "Longest time a client backend has been idle in transaction.", idle));
  out.push_back(root_blockers(obs, top_roots));
}

}  // namespace

std::vector<MetricFamily> collect_status(const WatchStatus& status, const std::string& version) {
  std::vector<MetricFamily> out;
  out.push_back(single("pg_lockwatch_up", "1 when the last poll of PostgreSQL succeeded.",
                       status.up ? 1 : 0));
  out.push_back(single("pg_lockwatch_via_pooler",
                       "1 when the daemon's connection goes through a pooler or proxy.",
                       status.via_pooler ? 1 : 0));
  out.push_back(single("pg_lockwatch_last_successful_poll_timestamp_seconds",
                       "Unix time of the last successful poll.", status.last_success_unix_seconds));
  MetricFamily info = gauge("pg_lockwatch_build_info", "Version of pg_lockwatch and the server.");
  info.metric.push_back(
      sample(1, {{"version", version}, {"server_version", label_value(status.server_version)}}));
  out.push_back(std::move(info));
  if (status.up && status.observation) add_observation(out, *status.observation, status.top_roots);
  return out;
}

std::vector<MetricFamily> SnapshotCollector::Collect() const {
  return collect_status(m_board.get(), m_version);
}

}  // namespace lockwatch
