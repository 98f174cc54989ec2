#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/config.hpp"
#include "core/observation.hpp"

namespace lockwatch {

// What became of one decision; every value is a label of
// pg_lockwatch_policy_actions_total{outcome}.
enum class Outcome {
  pending,       // a signal is to be sent (the edge replaces this with the result)
  terminated,    // pg_terminate_backend succeeded
  cancelled,     // pg_cancel_backend succeeded
  logged,        // action = "log": nothing to send
  dry_run,       // would have signalled; dry run
  vanished,      // the session ended or changed before the signal: nothing was sent
  protected_,    // protected user/application or superuser: never signalled
  rate_limited,  // over [safety] max_actions_per_minute
  denied,        // the server refused (insufficient privilege)
  failed,        // any other error
  unknown,       // signalled, effect not seen (answer lost, or the backend had not exited
                 // yet): a later poll confirms it as terminated/cancelled, or failed
};

// Every outcome a decision can end with (all but pending): the metric's label values.
const std::vector<Outcome>& settled_outcomes();

std::string_view to_string(Outcome outcome);

// The session a decision is about, as the poll saw it: signalling re-checks all four.
struct SessionIdentity {
  int pid = 0;
  Micros backend_start = 0;
  std::string state;
  Micros state_change = 0;

  auto key() const { return std::tie(pid, backend_start); }
};

// The identity a signal about `backend` re-checks (0 for timestamps the poll did not see).
SessionIdentity identity_of(const Backend& backend);

// One policy's decision about one backend, with what the audit log records.
struct Decision {
  std::string policy;
  PolicyAction action = PolicyAction::log;
  SessionIdentity target;
  Micros xact_start = 0;  // the transaction it is about (0: none): a pooled session's next
                          // transaction is news again
  Outcome outcome = Outcome::pending;
  std::string reason;  // why protected, or the error
  std::string usename;
  std::string application_name;
  std::string datname;
  std::string client_addr;
  // The real client behind a pooler ("pgbouncer 10.0.0.7:53122 application=api"); empty
  // when the backend is no pooler's server connection, or the pooler did not say.
  std::string pooler_client;
  std::string query;
  double state_age_seconds = 0;
  double xact_age_seconds = 0;
  int blocked_total = 0;
  double blocked_wait_seconds = 0;
};

// Why a backend must never be signalled, or nullopt: protected users and applications,
// superusers (unless allowed) and every non-client backend.
std::optional<std::string> protection_reason(const Backend& backend, const SafetyConfig& safety);

// A point on a clock that never steps (steady_clock in the daemon): the rate limit must
// not freeze when the server's or the host's wall clock is set back.
using MonotonicTime = std::chrono::steady_clock::time_point;

// At most `per_minute` signals in any rolling minute.
class RateLimiter {
 public:
  // Takes a slot at `now` when one is free.
  bool try_acquire(int per_minute, MonotonicTime now);

 private:
  std::deque<MonotonicTime> m_sent;
};

class SignalConfirmation;

// Evaluates policies against each analysed poll, first matching policy per backend.
// Pure: the poll, the policies and the clock in, decisions out; the only state is the
// rate limiter and the memory of what was already reported. Ages come from the server's
// clock (the poll's now()); the rate limit runs on `monotonic_now`.
class PolicyEngine {
 public:
  PolicyEngine();
  ~PolicyEngine();
  PolicyEngine(PolicyEngine&&) noexcept;
  PolicyEngine& operator=(PolicyEngine&&) noexcept;

  std::vector<Decision> decide(const Observation& observation, const SafetyConfig& safety,
                               const std::vector<Policy>& policies, MonotonicTime monotonic_now);

  // Remembers a settled decision; true when it is news (a new session, policy or outcome)
  // and so should be logged and counted, false for the same outcome poll after poll. An
  // unknown outcome waits for confirm(); meanwhile its session is not signalled again.
  bool note_outcome(const Decision& decision);

  // Call before decide(): the earlier unknown decisions this poll settles (news, each).
  // The poll must have returned the rows of awaiting_confirmation().
  std::vector<Decision> confirm(const Observation& observation, MonotonicTime monotonic_now);

  // The pids of sessions whose signal awaits confirmation.
  std::vector<int> awaiting_confirmation() const;

 private:
  // Keeps the memory of reported outcomes to transactions that are still open.
  void forget_ended_sessions(const Observation& observation);

  // pid, backend_start, xact_start, policy.
  using ReportKey = std::tuple<int, Micros, Micros, std::string>;

  RateLimiter m_rate_limiter;
  std::map<ReportKey, Outcome> m_reported;
  std::unique_ptr<SignalConfirmation> m_unconfirmed;
  MonotonicTime m_now{};  // the last poll's, for note_outcome
};

// The backends a poll must return for policies that act on sessions blocking nobody
// (only_if_blocking = false): their states, and the least time in them any such policy
// asks for. Every other policy acts only on sessions in the wait-for graph.
struct CandidateFilter {
  std::vector<std::string> states;
  Duration min_state_age{0};
};
CandidateFilter non_blocking_candidates(const std::vector<Policy>& policies);

// True when the policy's conditions (states, ages, blocking, globs) hold for this backend;
// `is_blocked`: it waits on another backend; `held_up` and `held_up_wait` describe whom it
// blocks (parallel workers folded onto their leader). Protections are not checked here.
bool policy_matches(const Policy& policy, const Backend& backend, bool is_blocked, int held_up,
                    double held_up_wait, Micros now);

// Whether a policy's pooler_client_addrs and pooler_applications accept the client a pooler
// links the backend to. A policy that sets either matches only backends whose pooler named
// their client (`link` with a client); one that sets neither matches every backend.
bool pooler_client_matches(const Policy& policy, const PoolerLink* link);

// "pgbouncer 10.0.0.7:53122 application=api", or empty without a linked client.
std::string describe_pooler_client(const PoolerLink* link);

}  // namespace lockwatch
