#pragma once

#include <string>
#include <vector>

#include "core/command_requests.hpp"
#include "core/connection_audit.hpp"
#include "core/policy_engine.hpp"

namespace lockwatch {

// One session the terminate command selected, and what became of it: pending until
// signalled, unless protected (never signalled, `reason` says why).
struct TerminationTarget {
  SessionIdentity identity;
  AuditedSession session;
  Outcome outcome = Outcome::pending;
  std::string reason;
};

// The sessions `request` selects (its --pid, or the idle-in-transaction sessions its
// filters match, longest idle first), each settled as protected when [safety] says so.
std::vector<TerminationTarget> plan_termination(const TerminateRequest& request,
                                                const Observation& observation,
                                                const SafetyConfig& safety);

// True when the command failed at what it was asked: a target denied or failed; with
// --pid, also one protected or vanished, or none found. Declining never reaches here.
bool termination_failed(const TerminateRequest& request,
                        const std::vector<TerminationTarget>& targets);

// Aligned rows: pid, user, application, state, time in it, outcome (and reason).
std::string render_termination_text(const std::vector<TerminationTarget>& targets);

// {"dry_run": false, "sessions": [{..., "outcome": "terminated", "reason": ""}]}
std::string render_termination_json(const std::vector<TerminationTarget>& targets, bool dry_run);

}  // namespace lockwatch
