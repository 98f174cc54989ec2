#include "metrics/snapshot_collector.hpp"

#include <algorithm>
#include <map>

#include "core/lock_description.hpp"

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

// From the poll's server-side counts: the quiet poll returns no row per backend.
MetricFamily backends_by_state(const ActivitySnapshot& activity) {
  std::map<std::string, int> counts;
  for (const std::string& label : all_state_labels()) counts[label] = 0;
  for (const auto& [state, n] : activity.summary.client_states) {
    const auto it = counts.find(state_label(state));
    if (it != counts.end()) it->second += n;
  }
  MetricFamily family = gauge("pg_lockwatch_backends", "Client backends by state.");
  for (const auto& [state, count] : counts)
    family.metric.push_back(sample(count, {{"state", state}}));
  return family;
}

// Oldest transaction start and oldest idle-in-transaction state change, in seconds.
std::pair<double, double> oldest_ages(const ActivitySnapshot& activity) {
  return {seconds_since(activity.summary.oldest_xact_start, activity.taken_at),
          seconds_since(activity.summary.oldest_idle_in_transaction, activity.taken_at)};
}

// Backends waiting for a lock by lock type and by mode: fixed label sets (13 types, 8
// modes), every value present, whatever the pile-up.
std::pair<MetricFamily, MetricFamily> waits_by_type_and_mode(const Observation& obs) {
  std::map<LockType, int> by_type;
  std::map<LockMode, int> by_mode;
  for (const LockWait& w : obs.graph().all_waits()) {
    ++by_type[obs.lock_snapshot().queues[static_cast<std::size_t>(w.queue)].target.type];
    ++by_mode[w.mode];
  }
  MetricFamily types = gauge("pg_lockwatch_lock_waiting_backends_by_type",
                             "Backends waiting for a heavyweight lock, by pg_locks.locktype.");
  for (LockType type : all_lock_types()) {
    types.metric.push_back(sample(by_type[type], {{"locktype", std::string(to_string(type))}}));
  }
  MetricFamily modes = gauge("pg_lockwatch_lock_waiting_backends_by_mode",
                             "Backends waiting for a heavyweight lock, by requested mode.");
  for (int m = 0; m < 8; ++m) {
    const auto mode = static_cast<LockMode>(m);
    modes.metric.push_back(sample(by_mode[mode], {{"mode", pg_locks_name(mode)}}));
  }
  return {std::move(types), std::move(modes)};
}

MetricFamily root_blockers(const Observation& obs, int top) {
  MetricFamily family = gauge("pg_lockwatch_root_blocker_blocked_backends",
                              "Backends held up by each of the top root blockers.");
  const auto& roots = obs.locks().roots;
  for (std::size_t i = 0; i < roots.size() && static_cast<int>(i) < top; ++i) {
    const Backend* b = obs.backend(roots[i].pid);
    const PreparedXact* p = obs.prepared(roots[i].pid);
    const Backend none;
    const Backend& who = b ? *b : none;
    family.metric.push_back(
        sample(roots[i].blocked_total,
               {{"rank", std::to_string(i + 1)},
                {"pid", std::to_string(p ? 0 : roots[i].pid)},
                {"datname", label_value(p ? p->database : who.datname)},
                {"usename", label_value(p ? p->owner : who.usename)},
                {"application_name", label_value(who.application_name)},
                {"state", b ? label_value(b->state) : (p ? "prepared" : "unknown")}}));
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
                       "Longest current lock wait (from pg_locks.waitstart).",
                       locks.longest_wait_seconds));
  out.push_back(single("pg_lockwatch_ghost_lock_holders",
                       "Backends holding a lock others wait for that are a pooler's server "
                       "connection with no client (see docs/RUNBOOK.md).",
                       obs.ghost_lock_holders()));
  const LockSnapshot& snapshot = obs.lock_snapshot();
  out.push_back(single("pg_lockwatch_lock_snapshot_age_seconds",
                       "Age of the lock snapshot the chains come from: 0 when this poll read "
                       "it, more while the lock table does not answer.",
                       snapshot.stale ? seconds_since(snapshot.taken_at, obs.now()) : 0.0));
  auto [by_type, by_mode] = waits_by_type_and_mode(obs);
  out.push_back(std::move(by_type));
  out.push_back(std::move(by_mode));
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
  MetricFamily pooler_up = gauge("pg_lockwatch_pooler_up",
                                 "1 when the last read of this pooler's admin console worked.");
  for (const PoolerStatus& p : status.poolers) {
    pooler_up.metric.push_back(sample(p.up ? 1 : 0, {{"pooler", p.name}}));
  }
  if (!status.poolers.empty()) out.push_back(std::move(pooler_up));
  MetricFamily missing = gauge("pg_lockwatch_missing_privilege",
                               "1 when the watchdog's role lacks this privilege (see /healthz).");
  for (const std::string& privilege : checked_privileges()) {
    const bool lacks =
        std::any_of(status.problems.begin(), status.problems.end(),
                    [&](const PrivilegeProblem& p) { return p.privilege == privilege; });
    missing.metric.push_back(sample(lacks ? 1 : 0, {{"privilege", privilege}}));
  }
  out.push_back(std::move(missing));
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
