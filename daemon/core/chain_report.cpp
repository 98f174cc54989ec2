#include "core/chain_report.hpp"

#include <algorithm>

#include "core/json_writer.hpp"

namespace lockwatch {
namespace {

void write_pids(JsonWriter& json, const std::vector<int>& pids) {
  json.begin_array();
  for (int pid : pids) json.value(pid);
  json.end_array();
}

void write_identity(JsonWriter& json, const Backend& b, Micros now) {
  json.key("state").value(b.state);
  json.key("datname").value(b.datname);
  json.key("usename").value(b.usename);
  json.key("application_name").value(b.application_name);
  json.key("client_addr").value(b.client_addr);
  json.key("backend_type").value(b.backend_type);
  json.key("xact_age_seconds").value(seconds_since(b.xact_start, now));
  json.key("state_age_seconds").value(seconds_since(b.state_change, now));
  json.key("query").value(b.query);
}

void write_waiter(JsonWriter& json, const Observation& obs, int pid) {
  json.begin_object().key("pid").value(pid);
  const Backend* b = obs.backend(pid);
  json.key("blocked_by");
  write_pids(json, b ? b->blocked_by : std::vector<int>{});
  if (b) {
    json.key("wait_seconds").value(lock_wait_seconds(*b, obs.now()));
    json.key("wait_event").value(b->wait_event);
    write_identity(json, *b, obs.now());
  }
  json.end_object();
}

void write_verdict(JsonWriter& json, std::span<const RootVerdict> verdicts, int pid) {
  const auto it = std::find_if(verdicts.begin(), verdicts.end(),
                               [pid](const RootVerdict& v) { return v.pid == pid; });
  json.key("policy");
  if (it == verdicts.end()) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("name").value(it->policy);
  json.key("action").value(it->action);
  json.key("outcome").value(it->outcome);
  json.end_object();
}

void write_root(JsonWriter& json, const Observation& obs, const RootBlocker& root,
                std::span<const RootVerdict> verdicts) {
  json.begin_object().key("pid").value(root.pid);
  const Backend* b = obs.backend(root.pid);
  if (b) {
    write_identity(json, *b, obs.now());
  } else {
    json.key("state").value(describe_state(obs, root.pid));
  }
  json.key("blocked_total").value(root.blocked_total);
  json.key("max_chain_length").value(root.max_chain_length);
  json.key("longest_wait_seconds").value(root.longest_wait_seconds);
  json.key("longest_chain");
  write_pids(json, root.longest_chain);
  json.key("deadlock_cycle");
  write_pids(json, root.cycle);
  write_verdict(json, verdicts, root.pid);
  json.key("waiters").begin_array();
  for (int pid : root.waiters) write_waiter(json, obs, pid);
  json.end_array().end_object();
}

}  // namespace

std::string describe_state(const Observation& observation, int pid) {
  if (pid == k_prepared_xact_pid) return "prepared transaction";
  const Backend* b = observation.backend(pid);
  if (!b) return "unknown (gone)";
  return b->state.empty() ? b->backend_type : b->state;
}

std::string render_chains_json(const Observation& observation,
                               std::span<const RootVerdict> verdicts) {
  const LockAnalysis& locks = observation.locks();
  JsonWriter json;
  json.begin_object();
  json.key("waiting").value(locks.waiting);
  json.key("blocked").value(locks.blocked);
  json.key("root_blockers").value(static_cast<int>(locks.roots.size()));
  json.key("max_chain_length").value(locks.max_chain_length);
  json.key("longest_wait_seconds").value(locks.longest_wait_seconds);
  json.key("roots").begin_array();
  for (const RootBlocker& root : locks.roots) write_root(json, observation, root, verdicts);
  json.end_array().end_object();
  return json.str();
}

}  // namespace lockwatch
