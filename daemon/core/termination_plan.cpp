#include "core/termination_plan.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/glob.hpp"
#include "core/json_writer.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

// Sessions that hold up someone, by the poll's wait-for graph.
std::unordered_set<int> blocking_pids(const Observation& obs) {
  std::unordered_set<int> out;
  for (int session : obs.graph().sessions()) {
    if (!obs.graph().waiters_of(session).empty()) out.insert(session);
  }
  return out;
}

bool selected(const TerminateRequest& r, const Backend& b, const std::unordered_set<int>& blocking,
              Micros now) {
  if (!b.state.starts_with("idle in transaction")) return false;
  const double older_than = std::chrono::duration<double>(r.older_than).count();
  if (seconds_since(b.state_change, now) < older_than) return false;
  if (r.only_blocking && !blocking.count(b.pid)) return false;
  if (!r.user.empty() && !glob_match(r.user, b.usename)) return false;
  return r.application.empty() || glob_match(r.application, b.application_name);
}

TerminationTarget target(const Backend& b, const SafetyConfig& safety, Micros now) {
  TerminationTarget t;
  t.identity = identity_of(b);
  t.session = audited(b, now);
  if (auto reason = protection_reason(b, safety)) {
    t.outcome = Outcome::protected_;
    t.reason = std::move(*reason);
  }
  return t;
}

std::string outcome_text(const TerminationTarget& t) {
  if (t.outcome == Outcome::pending) return "will terminate";
  const std::string outcome(to_string(t.outcome));
  return t.reason.empty() ? outcome : outcome + ": " + t.reason;
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

}  // namespace

std::vector<TerminationTarget> plan_termination(const TerminateRequest& request,
                                                const Observation& obs,
                                                const SafetyConfig& safety) {
  std::vector<TerminationTarget> targets;
  if (request.pid) {
    if (const Backend* b = obs.backend(*request.pid))
      targets.push_back(target(*b, safety, obs.now()));
    return targets;
  }
  const auto blocking = blocking_pids(obs);
  for (const Backend& b : obs.activity().backends) {
    if (selected(request, b, blocking, obs.now())) targets.push_back(target(b, safety, obs.now()));
  }
  std::stable_sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
    return a.session.state_age_seconds > b.session.state_age_seconds;
  });
  return targets;
}

bool termination_failed(const TerminateRequest& request,
                        const std::vector<TerminationTarget>& targets) {
  if (request.pid && targets.empty()) return true;
  return std::any_of(targets.begin(), targets.end(), [&](const TerminationTarget& t) {
    if (t.outcome == Outcome::denied || t.outcome == Outcome::failed ||
        t.outcome == Outcome::unknown) {
      return true;
    }
    // Asked for by pid, a session left alone is a failure; selected by a filter, a
    // protected session is skipped by design and a vanished one no longer matches.
    return request.pid && (t.outcome == Outcome::protected_ || t.outcome == Outcome::vanished);
  });
}

std::string render_termination_text(const std::vector<TerminationTarget>& targets) {
  TextTable table;
  table.add_row({"PID", "USER", "APPLICATION", "STATE", "AGE", "OUTCOME"});
  for (const TerminationTarget& t : targets) {
    table.add_row({std::to_string(t.session.pid), or_dash(t.session.usename),
                   or_dash(t.session.application_name), or_dash(t.session.state),
                   whole_seconds(t.session.state_age_seconds), outcome_text(t)});
  }
  return table.render();
}

std::string render_termination_json(const std::vector<TerminationTarget>& targets, bool dry_run) {
  JsonWriter json;
  json.begin_object().key("dry_run").value(dry_run);
  json.key("sessions").begin_array();
  for (const TerminationTarget& t : targets) {
    json.begin_object().key("outcome").value(to_string(t.outcome));
    json.key("reason").value(t.reason);
    json.key("session");
    write_session_json(json, t.session);
    json.end_object();
  }
  json.end_array().end_object();
  return json.str();
}

}  // namespace lockwatch
