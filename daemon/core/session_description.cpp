#include "core/session_description.hpp"

#include "core/lock_description.hpp"
#include "core/pooler_attribution.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

const LockWait* wait_on(const Observation& obs, int session, int queue) {
  for (const LockWait& w : obs.graph().waits_of(session)) {
    if (queue < 0 || w.queue == queue) return &w;
  }
  return nullptr;
}

std::string prepared_label(const PreparedXact& p) {
  return "prepared transaction '" + p.gid + "'";
}

}  // namespace

std::string describe_state(const Observation& obs, int session) {
  if (is_prepared_session(session)) return "prepared transaction";
  const Backend* b = obs.backend(session);
  if (!b) return obs.graph().is_waiting(session) ? "waiting" : "unknown (gone)";
  return b->state.empty() ? b->backend_type : b->state;
}

std::string mode_names(LockMask modes) {
  std::string out;
  for (LockMode mode : modes_in(modes)) out += (out.empty() ? "" : "+") + pg_locks_name(mode);
  return out;
}

std::string wanted_lock(const Observation& obs, int session, int queue) {
  const LockWait* w = wait_on(obs, session, queue);
  if (!w) return "";
  const LockQueue& q = obs.lock_snapshot().queues[static_cast<std::size_t>(w->queue)];
  return pg_locks_name(w->mode) + " on " + describe_target(q.target, obs.lock_snapshot());
}

std::string session_name(const Observation& obs, int session) {
  if (const PreparedXact* p = obs.prepared(session)) return prepared_label(*p);
  return is_prepared_session(session) ? "a prepared transaction" : std::to_string(session);
}

std::string edge_reason(const Observation& obs, const WaitEdge& edge) {
  if (edge.hard) {
    return "held as " + mode_names(edge.modes) + " by " + session_name(obs, edge.blocker);
  }
  return "queued behind " + session_name(obs, edge.blocker) + "'s " + mode_names(edge.modes);
}

std::string pooler_suffix(const Observation& obs, int session) {
  const PoolerLink* link = obs.pooler_link(session);
  return link ? " " + pooler_label(*link, obs.is_ghost_lock_holder(session)) : "";
}

std::string describe_backend(const Observation& obs, int session, std::size_t query_chars) {
  if (const PreparedXact* p = obs.prepared(session)) {
    return prepared_label(*p) + " (" + (p->owner.empty() ? "-" : p->owner) + ", " +
           whole_seconds(seconds_since(p->prepared_at, obs.now())) + ")";
  }
  const Backend* b = obs.backend(session);
  std::string text = !b || b->application_name.empty() ? "-" : b->application_name;
  text += pooler_suffix(obs, session);
  if (obs.graph().is_waiting(session)) {
    text += ", waiting " + whole_seconds(obs.wait_seconds(session));
    if (const std::string lock = wanted_lock(obs, session); !lock.empty()) text += " for " + lock;
  } else if (b) {
    text += ", " + describe_state(obs, session) + " " +
            whole_seconds(seconds_since(b->state_change, obs.now()));
  } else {
    text += ", " + describe_state(obs, session);
  }
  if (b && !b->query.empty()) text += ": " + shorten(b->query, query_chars);
  return text;
}

}  // namespace lockwatch
