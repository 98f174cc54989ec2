#include "core/chain_report.hpp"

#include <algorithm>
#include <map>

#include "core/json_writer.hpp"
#include "core/lock_description.hpp"
#include "core/session_description.hpp"

namespace lockwatch {
namespace {

// The JSON's pid for a session: a prepared transaction has none (0, as pg_blocking_pids()
// reports it), its "prepared" object says which one it is.
int reported_pid(int session) {
  return is_prepared_session(session) ? 0 : session;
}

std::size_t shown(std::size_t total, std::size_t limit) {
  return limit == 0 ? total : std::min(total, limit);
}

void write_pids(JsonWriter& json, std::span<const int> sessions) {
  json.begin_array();
  for (int s : sessions) json.value(reported_pid(s));
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

void write_prepared(JsonWriter& json, const PreparedXact& p, Micros now) {
  json.key("state").value("prepared transaction");
  json.key("prepared").begin_object();
  json.key("gid").value(p.gid);
  json.key("transaction").value(p.transaction);
  json.key("owner").value(p.owner);
  json.key("database").value(p.database);
  json.key("age_seconds").value(seconds_since(p.prepared_at, now));
  json.end_object();
}

// The real client behind a backend that is a pooler's server connection, and whether it is
// a ghost lock. Neither key when it is none, or when the pooler could not say (not read
// since the backend entered its state, or down).
void write_via_pooler(JsonWriter& json, const Observation& obs, int session) {
  const PoolerLink* link = obs.pooler_link(session);
  if (!link) return;
  json.key("ghost_lock").value(obs.is_ghost_lock_holder(session));
  json.key("via_pooler").begin_object();
  json.key("pooler").value(link->pooler);
  json.key("server_state").value(link->server_state);
  json.key("client_linked").value(link->client.has_value());
  if (const auto& c = link->client) {
    json.key("client_addr").value(c->addr);
    json.key("client_port").value(c->port);
    json.key("application_name").value(c->application_name);
    json.key("user").value(c->user);
    json.key("database").value(c->database);
    json.key("connect_time").value(c->connect_time);
    json.key("state").value(c->state);
    if (!c->id.empty()) json.key("client_id").value(c->id);
  } else {
    json.key("client_unlisted").value(link->client_unlisted);
  }
  json.end_object();
}

void write_session(JsonWriter& json, const Observation& obs, int session) {
  json.key("pid").value(reported_pid(session));
  if (const PreparedXact* p = obs.prepared(session)) {
    write_prepared(json, *p, obs.now());
  } else if (const Backend* b = obs.backend(session)) {
    write_identity(json, *b, obs.now());
    write_via_pooler(json, obs, session);
  } else {
    json.key("state").value(describe_state(obs, session));
  }
}

void write_lock(JsonWriter& json, const Observation& obs, int queue) {
  const LockQueue& q = obs.lock_snapshot().queues[static_cast<std::size_t>(queue)];
  json.key("lock");
  write_target_json(json, q.target, obs.lock_snapshot());
}

void write_wants(JsonWriter& json, const Observation& obs, int session) {
  json.key("wants").begin_array();
  for (const LockWait& w : obs.graph().waits_of(session)) {
    json.begin_object();
    write_lock(json, obs, w.queue);
    json.key("mode").value(pg_locks_name(w.mode));
    if (w.pid != session) json.key("worker_pid").value(w.pid);
    json.end_object();
  }
  json.end_array();
}

void write_blockers(JsonWriter& json, const Observation& obs, int session) {
  const auto edges = obs.graph().blockers_of(session);
  json.key("blocked_by").begin_array();
  for (const WaitEdge& e : edges) json.value(reported_pid(e.blocker));
  json.end_array();
  json.key("blockers").begin_array();
  for (const WaitEdge& e : edges) {
    json.begin_object();
    json.key("pid").value(reported_pid(e.blocker));
    if (const PreparedXact* p = obs.prepared(e.blocker)) json.key("prepared_gid").value(p->gid);
    json.key("how").value(e.hard ? "holds" : "queued_ahead");
    json.key("mode").value(mode_names(e.modes));
    json.key("reason").value(edge_reason(obs, e));
    json.end_object();
  }
  json.end_array();
}

void write_waiter(JsonWriter& json, const Observation& obs, int session) {
  json.begin_object();
  write_session(json, obs, session);
  json.key("wait_seconds").value(obs.wait_seconds(session));
  if (const Backend* b = obs.backend(session)) json.key("wait_event").value(b->wait_event);
  write_wants(json, obs, session);
  write_blockers(json, obs, session);
  json.end_object();
}

// The contended locks a root holds that others wait for, one entry per object.
void write_holds(JsonWriter& json, const Observation& obs, int session) {
  std::map<int, LockMask> held;
  for (const WaitEdge& e : obs.graph().waiters_of(session)) {
    if (e.hard) held[e.queue] |= e.modes;
  }
  json.key("holds").begin_array();
  for (const auto& [queue, modes] : held) {
    json.begin_object();
    write_lock(json, obs, queue);
    json.key("mode").value(mode_names(modes));
    json.end_object();
  }
  json.end_array();
}

void write_groups(JsonWriter& json, const Observation& obs, std::span<const int> sessions) {
  json.key("waiting_for").begin_array();
  for (const WaiterGroup& g : group_waiters(obs, sessions)) {
    json.begin_object();
    write_lock(json, obs, g.queue);
    json.key("mode").value(pg_locks_name(g.mode));
    json.key("sessions").value(g.sessions);
    json.key("longest_wait_seconds").value(g.longest_wait_seconds);
    json.end_object();
  }
  json.end_array();
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
                std::span<const RootVerdict> verdicts, const ReportLimits& limits) {
  json.begin_object();
  write_session(json, obs, root.pid);
  json.key("blocked_total").value(root.blocked_total);
  json.key("max_chain_length").value(root.max_chain_length);
  json.key("longest_wait_seconds").value(root.longest_wait_seconds);
  const std::span<const int> chain(root.longest_chain);
  const std::size_t chain_shown = shown(chain.size(), limits.chain);
  json.key("longest_chain");
  write_pids(json, chain.first(chain_shown));
  json.key("longest_chain_omitted").value(static_cast<int>(chain.size() - chain_shown));
  json.key("deadlock_cycle");
  write_pids(json, root.cycle);
  if (obs.graph().is_waiting(root.pid)) {  // a member of a deadlock cycle
    write_wants(json, obs, root.pid);
    write_blockers(json, obs, root.pid);
  }
  write_verdict(json, verdicts, root.pid);
  write_holds(json, obs, root.pid);
  write_groups(json, obs, root.waiters);
  const std::size_t waiters_shown = shown(root.waiters.size(), limits.waiters);
  json.key("waiters").begin_array();
  for (std::size_t i = 0; i < waiters_shown; ++i) write_waiter(json, obs, root.waiters[i]);
  json.end_array();
  json.key("waiters_omitted").value(static_cast<int>(root.waiters.size() - waiters_shown));
  json.end_object();
}

}  // namespace

std::vector<WaiterGroup> group_waiters(const Observation& obs, std::span<const int> sessions) {
  std::map<std::pair<int, LockMode>, WaiterGroup> groups;
  for (int session : sessions) {
    for (const LockWait& w : obs.graph().waits_of(session)) {
      WaiterGroup& g = groups[{w.queue, w.mode}];
      g.queue = w.queue;
      g.mode = w.mode;
      ++g.sessions;
      g.longest_wait_seconds = std::max(g.longest_wait_seconds, obs.wait_seconds(session));
    }
  }
  std::vector<WaiterGroup> out;
  for (auto& [key, group] : groups) out.push_back(group);
  std::stable_sort(out.begin(), out.end(), [](const WaiterGroup& a, const WaiterGroup& b) {
    return a.sessions > b.sessions;
  });
  return out;
}

std::string render_chains_json(const Observation& obs, std::span<const RootVerdict> verdicts,
                               const ReportLimits& limits) {
  const LockAnalysis& locks = obs.locks();
  JsonWriter json;
  json.begin_object();
  json.key("waiting").value(locks.waiting);
  json.key("blocked").value(locks.blocked);
  json.key("root_blockers").value(static_cast<int>(locks.roots.size()));
  json.key("max_chain_length").value(locks.max_chain_length);
  json.key("longest_wait_seconds").value(locks.longest_wait_seconds);
  json.key("ghost_lock_holders").value(obs.ghost_lock_holders());
  const LockSnapshot& snapshot = obs.lock_snapshot();
  json.key("lock_snapshot").value(snapshot.taken);
  json.key("lock_snapshot_stale").value(snapshot.stale);
  json.key("lock_snapshot_age_seconds")
      .value(snapshot.stale ? seconds_since(snapshot.taken_at, obs.now()) : 0.0);
  const std::size_t roots_shown = shown(locks.roots.size(), limits.roots);
  json.key("roots").begin_array();
  for (std::size_t i = 0; i < roots_shown; ++i) {
    write_root(json, obs, locks.roots[i], verdicts, limits);
  }
  json.end_array();
  json.key("roots_omitted").value(static_cast<int>(locks.roots.size() - roots_shown));
  json.key("unexplained_waiters");
  write_pids(json, locks.unexplained);
  json.end_object();
  return json.str();
}

}  // namespace lockwatch
