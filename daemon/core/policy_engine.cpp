#include "core/policy_engine.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "core/glob.hpp"
#include "core/signal_confirmation.hpp"

namespace lockwatch {
namespace {

constexpr auto k_minute = std::chrono::minutes(1);

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

bool filter_matches(const GlobFilter& filter, const std::string& value) {
  return glob_match_any(filter.include, value) && !glob_match_any(filter.exclude, value);
}

// Sessions each blocker holds up, directly or not, and the longest wait among them.
struct HeldUp {
  int count = 0;
  double longest_wait = 0;
};

// Reads the poll's wait-for graph; what a session holds up is walked once, on demand.
class BlockingIndex {
 public:
  explicit BlockingIndex(const Observation& obs) : m_obs(obs) {}

  // Whether this session (or a worker of its parallel group) waits for a lock.
  bool is_blocked(int pid) const { return m_obs.graph().is_waiting(pid); }

  const HeldUp& held_up(int pid) const {
    const auto [it, inserted] = m_memo.try_emplace(pid);
    if (inserted) it->second = walk(pid);
    return it->second;
  }

 private:
  HeldUp walk(int pid) const {
    HeldUp out;
    std::unordered_set<int> seen{pid};
    std::vector<int> stack{pid};
    while (!stack.empty()) {
      const int current = stack.back();
      stack.pop_back();
      for (const WaitEdge& e : m_obs.graph().waiters_of(current)) {
        if (!seen.insert(e.waiter).second) continue;
        stack.push_back(e.waiter);
        ++out.count;
        out.longest_wait = std::max(out.longest_wait, m_obs.wait_seconds(e.waiter));
      }
    }
    return out;
  }

  const Observation& m_obs;
  mutable std::unordered_map<int, HeldUp> m_memo;
};

Decision make_decision(const Policy& policy, const Backend& b, const HeldUp& held,
                       const PoolerLink* link, Micros now) {
  Decision d;
  d.policy = policy.name;
  d.action = policy.action;
  d.target = identity_of(b);
  d.xact_start = b.xact_start.value_or(0);
  d.usename = b.usename;
  d.application_name = b.application_name;
  d.datname = b.datname;
  d.client_addr = b.client_addr;
  d.pooler_client = describe_pooler_client(link);
  d.query = b.query;
  d.state_age_seconds = seconds_since(b.state_change, now);
  d.xact_age_seconds = seconds_since(b.xact_start, now);
  d.blocked_total = held.count;
  d.blocked_wait_seconds = held.longest_wait;
  return d;
}

// Everything short of signalling: protections, log-only, dry run, a signal already on its
// way (`awaiting`: not sent twice, no slot taken), then the rate limit.
void settle_before_signal(Decision& d, const Backend& b, const Policy& policy,
                          const SafetyConfig& safety, bool awaiting, RateLimiter& limiter,
                          MonotonicTime now) {
  if (auto reason = protection_reason(b, safety)) {
    d.outcome = Outcome::protected_;
    d.reason = std::move(*reason);
  } else if (policy.action == PolicyAction::log) {
    d.outcome = Outcome::logged;
  } else if (policy.dry_run) {
    d.outcome = Outcome::dry_run;
  } else if (awaiting) {
    d.outcome = Outcome::unknown;
    d.reason = "signalled already; awaiting confirmation";
  } else if (!limiter.try_acquire(safety.max_actions_per_minute, now)) {
    d.outcome = Outcome::rate_limited;
  }
}

}  // namespace

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pending:
      return "pending";
    case Outcome::terminated:
      return "terminated";
    case Outcome::cancelled:
      return "cancelled";
    case Outcome::logged:
      return "logged";
    case Outcome::dry_run:
      return "dry_run";
    case Outcome::vanished:
      return "vanished";
    case Outcome::protected_:
      return "protected";
    case Outcome::rate_limited:
      return "rate_limited";
    case Outcome::denied:
      return "denied";
    case Outcome::failed:
      return "failed";
    case Outcome::unknown:
      return "unknown";
  }
  return "failed";
}

const std::vector<Outcome>& settled_outcomes() {
  static const std::vector<Outcome> k_settled = {
      Outcome::terminated, Outcome::cancelled,  Outcome::logged,       Outcome::dry_run,
      Outcome::vanished,   Outcome::protected_, Outcome::rate_limited, Outcome::denied,
      Outcome::failed,     Outcome::unknown};
  return k_settled;
}

PolicyEngine::PolicyEngine() : m_unconfirmed(std::make_unique<SignalConfirmation>()) {}
PolicyEngine::~PolicyEngine() = default;
PolicyEngine::PolicyEngine(PolicyEngine&&) noexcept = default;
PolicyEngine& PolicyEngine::operator=(PolicyEngine&&) noexcept = default;

SessionIdentity identity_of(const Backend& b) {
  return SessionIdentity{b.pid, b.backend_start.value_or(0), b.state, b.state_change.value_or(0)};
}

std::optional<std::string> protection_reason(const Backend& b, const SafetyConfig& safety) {
  if (!b.is_client()) return "not a client backend (" + b.backend_type + ")";
  if (glob_match_any(safety.protected_users, b.usename)) return "protected user " + b.usename;
  if (glob_match_any(safety.protected_applications, b.application_name)) {
    return "protected application " + b.application_name;
  }
  if (b.superuser && !safety.allow_superusers) return "superuser " + b.usename;
  if (!b.backend_start || !b.state_change) return "identity unknown";
  return std::nullopt;
}

bool RateLimiter::try_acquire(int per_minute, MonotonicTime now) {
  while (!m_sent.empty() && now - m_sent.front() >= k_minute) m_sent.pop_front();
  if (static_cast<int>(m_sent.size()) >= per_minute) return false;
  m_sent.push_back(now);
  return true;
}

CandidateFilter non_blocking_candidates(const std::vector<Policy>& policies) {
  CandidateFilter filter;
  bool first = true;
  for (const Policy& p : policies) {
    if (p.only_if_blocking) continue;
    filter.states.insert(filter.states.end(), p.states.begin(), p.states.end());
    filter.min_state_age =
        first ? p.min_state_age : std::min(filter.min_state_age, p.min_state_age);
    first = false;
  }
  std::sort(filter.states.begin(), filter.states.end());
  filter.states.erase(std::unique(filter.states.begin(), filter.states.end()), filter.states.end());
  return filter;
}

bool policy_matches(const Policy& p, const Backend& b, bool is_blocked, int held_up,
                    double held_up_wait, Micros now) {
  if (std::find(p.states.begin(), p.states.end(), b.state) == p.states.end()) return false;
  if (seconds_since(b.state_change, now) < seconds(p.min_state_age)) return false;
  if (p.min_xact_age.count() > 0 && seconds_since(b.xact_start, now) < seconds(p.min_xact_age)) {
    return false;
  }
  if (p.only_if_blocking) {
    if (held_up < std::max(1, p.min_blocked)) return false;
    if (held_up_wait < seconds(p.min_blocked_wait)) return false;
  }
  // A root waits on nobody: ending a backend that itself waits would not free the chain.
  if (p.roots_only && is_blocked) return false;
  return filter_matches(p.applications, b.application_name) && filter_matches(p.users, b.usename) &&
         filter_matches(p.databases, b.datname) && filter_matches(p.client_addrs, b.client_addr);
}

bool pooler_client_matches(const Policy& p, const PoolerLink* link) {
  if (p.pooler_client_addrs.empty() && p.pooler_applications.empty()) return true;
  if (!link || !link->client) return false;
  const PoolerClient& c = *link->client;
  return (p.pooler_client_addrs.empty() || glob_match_any(p.pooler_client_addrs, c.addr)) &&
         (p.pooler_applications.empty() ||
          glob_match_any(p.pooler_applications, c.application_name));
}

std::string describe_pooler_client(const PoolerLink* link) {
  if (!link || !link->client) return {};
  const PoolerClient& c = *link->client;
  std::string text = link->pooler + " " + c.addr + ":" + std::to_string(c.port);
  if (!c.application_name.empty()) text += " application=" + c.application_name;
  return text;
}

std::vector<Decision> PolicyEngine::decide(const Observation& obs, const SafetyConfig& safety,
                                           const std::vector<Policy>& policies,
                                           MonotonicTime monotonic_now) {
  std::vector<Decision> decisions;
  m_now = monotonic_now;
  forget_ended_sessions(obs);
  if (policies.empty()) return decisions;
  const BlockingIndex index(obs);
  for (const Backend& b : obs.activity().backends) {
    if (!b.is_client()) continue;  // never targets; not worth an audit line each poll
    if (b.leader_pid != 0 && b.leader_pid != b.pid) continue;  // workers act through leaders
    const bool is_blocked = index.is_blocked(b.pid);
    for (const Policy& policy : policies) {
      // The state first: walking what a backend holds up is the costly part in a pile-up.
      if (std::find(policy.states.begin(), policy.states.end(), b.state) == policy.states.end()) {
        continue;
      }
      const HeldUp& held = index.held_up(b.pid);
      if (!policy_matches(policy, b, is_blocked, held.count, held.longest_wait, obs.now())) {
        continue;
      }
      const PoolerLink* link = obs.pooler_link(b.pid);
      if (!pooler_client_matches(policy, link)) continue;
      Decision d = make_decision(policy, b, held, link, obs.now());
      settle_before_signal(d, b, policy, safety, m_unconfirmed->awaiting(d.target), m_rate_limiter,
                           monotonic_now);
      decisions.push_back(std::move(d));
      break;  // the first matching policy decides
    }
  }
  return decisions;
}

void PolicyEngine::forget_ended_sessions(const Observation& obs) {
  for (auto it = m_reported.begin(); it != m_reported.end();) {
    const auto& [pid, backend_start, xact_start, policy] = it->first;
    const Backend* b = obs.backend(pid);
    const bool same_transaction = b && b->backend_start.value_or(0) == backend_start &&
                                  b->xact_start.value_or(0) == xact_start;
    it = same_transaction ? std::next(it) : m_reported.erase(it);
  }
}

std::vector<int> PolicyEngine::awaiting_confirmation() const {
  return m_unconfirmed->pids();
}

std::vector<Decision> PolicyEngine::confirm(const Observation& obs, MonotonicTime monotonic_now) {
  std::vector<Decision> settled = m_unconfirmed->confirm(obs, monotonic_now);
  for (const Decision& d : settled) note_outcome(d);
  return settled;
}

bool PolicyEngine::note_outcome(const Decision& d) {
  if (d.outcome == Outcome::unknown) m_unconfirmed->add(d, m_now);
  ReportKey key{d.target.pid, d.target.backend_start, d.xact_start, d.policy};
  const auto [it, inserted] = m_reported.try_emplace(std::move(key), d.outcome);
  if (inserted) return true;
  if (it->second == d.outcome) return false;
  it->second = d.outcome;
  return true;
}

}  // namespace lockwatch
