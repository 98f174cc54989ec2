#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/observation.hpp"
#include "core/policy_engine.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Pids = std::vector<int>;
using Policies = std::vector<Policy>;
using Decisions = std::vector<Decision>;

constexpr Micros k_second = k_micros_per_second;
constexpr Micros k_minute = 60 * k_second;

// A policy that signals for real: terminate, no dry run, the documented defaults otherwise
// (idle in transaction, root blockers holding up at least one backend).
Policy live_policy(std::string name = "idle-blockers",
                   PolicyAction action = PolicyAction::terminate) {
  Policy p;
  p.name = std::move(name);
  p.action = action;
  p.dry_run = false;
  return p;
}

// The default protections, not a dry run, and a rate limit nothing in a test reaches.
SafetyConfig live_safety(int max_actions_per_minute = 1000) {
  SafetyConfig s;
  s.dry_run = false;
  s.max_actions_per_minute = max_actions_per_minute;
  return s;
}

Backend& backend_of(PollSnapshots& snapshot, int pid) {
  const auto it = std::find_if(snapshot.activity.backends.begin(), snapshot.activity.backends.end(),
                               [pid](const Backend& b) { return b.pid == pid; });
  REQUIRE(it != snapshot.activity.backends.end());
  return *it;
}

// A monotonic clock reading `micros` after an arbitrary origin.
MonotonicTime monotonic_at(Micros micros) {
  return MonotonicTime{} + std::chrono::microseconds(micros);
}

// Decides on one poll; unless told otherwise, the monotonic clock moves with the server's.
Decisions decide(PolicyEngine& engine, PollSnapshots snapshot, const SafetyConfig& safety,
                 const Policies& policies, std::optional<MonotonicTime> monotonic = std::nullopt) {
  const MonotonicTime now = monotonic.value_or(monotonic_at(snapshot.activity.taken_at));
  const Observation observation(std::move(snapshot));
  return engine.decide(observation, safety, policies, now);
}

Decisions decide_once(PollSnapshots snapshot, const SafetyConfig& safety,
                      const Policies& policies) {
  PolicyEngine engine;
  return decide(engine, std::move(snapshot), safety, policies);
}

Pids targets(const Decisions& decisions) {
  Pids pids;
  for (const Decision& d : decisions) pids.push_back(d.target.pid);
  return pids;
}

Decision only_decision(const Decisions& decisions) {
  REQUIRE(decisions.size() == 1);
  return decisions.front();
}

int count_outcome(const Decisions& decisions, Outcome outcome) {
  return static_cast<int>(
      std::count_if(decisions.begin(), decisions.end(),
                    [outcome](const Decision& d) { return d.outcome == outcome; }));
}

// One idle-in-transaction client backend, alone in its snapshot, taken at k_now.
Backend idle_backend(int state_age = 0) {
  return SnapshotBuilder().idle_in_tx(100, "api", state_age).build().activity.backends.front();
}

// policy_matches for a root blocker holding up `held_up` backends, evaluated at k_now.
bool matches(const Policy& policy, const Backend& backend, int held_up = 1, bool is_root = true,
             double held_up_wait = 0) {
  return policy_matches(policy, backend, !is_root, held_up, held_up_wait, k_now);
}

// A root (idle in transaction) per pid in `roots`, each holding up one waiter (pid + 1).
PollSnapshots independent_roots(const Pids& roots, Micros at = k_now) {
  SnapshotBuilder builder;
  builder.at(at);
  for (int pid : roots) builder.idle_in_tx(pid, "api", 120).waiting(pid + 1, "api", {pid}, 10);
  return builder.build();
}

Config parse_ok(std::string_view text) {
  const auto parsed = parse_config(text, "cfg.toml");
  const std::string error = parsed ? std::string() : parsed.error();
  INFO("error: ", error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

TEST_SUITE("policy matching") {
  TEST_CASE("a policy matches only the pg_stat_activity states it lists") {
    struct Case {
      const char* what;
      std::vector<std::string> states;
      const char* state;
      bool matches;
    };
    const std::vector<std::string> defaults = Policy{}.states;
    const Case cases[] = {
        {"listed state", {"idle in transaction"}, "idle in transaction", true},
        {"aborted is a different state",
         {"idle in transaction"},
         "idle in transaction (aborted)",
         false},
        {"defaults include aborted", defaults, "idle in transaction (aborted)", true},
        {"defaults include idle in transaction", defaults, "idle in transaction", true},
        {"defaults exclude active", defaults, "active", false},
        {"defaults exclude idle", defaults, "idle", false},
        {"active when listed", {"active", "idle"}, "active", true},
        {"no states match nothing", {}, "idle in transaction", false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      Policy policy = live_policy();
      policy.states = c.states;
      Backend backend = idle_backend(30);
      backend.state = c.state;
      CHECK(matches(policy, backend) == c.matches);
    }
  }

  TEST_CASE("min_state_age is measured from state_change and an age equal to it matches") {
    struct Case {
      const char* what;
      Micros age;
      Duration min_state_age;
      bool matches;
    };
    const Case cases[] = {
        {"older than the minimum", 61 * k_second, 60s, true},
        {"exactly the minimum", 60 * k_second, 60s, true},
        {"one microsecond short", 60 * k_second - 1, 60s, false},
        {"millisecond minimum reached", 1500 * 1000, 1500ms, true},
        {"millisecond minimum missed", 1499 * 1000, 1500ms, false},
        {"no minimum, state just changed", 0, 0s, true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      Policy policy = live_policy();
      policy.min_state_age = c.min_state_age;
      Backend backend = idle_backend();
      backend.state_change = k_now - c.age;
      backend.xact_start = k_now - 3600 * k_second;  // ages other than state's do not count
      backend.query_start = k_now - 3600 * k_second;
      CHECK(matches(policy, backend) == c.matches);
    }
  }

  TEST_CASE("min_xact_age is measured from xact_start; no transaction fails a positive minimum") {
    struct Case {
      const char* what;
      std::optional<Micros> xact_age;
      Duration min_xact_age;
      bool matches;
    };
    const Case cases[] = {
        {"older than the minimum", 301 * k_second, 300s, true},
        {"exactly the minimum", 300 * k_second, 300s, true},
        {"one microsecond short", 300 * k_second - 1, 300s, false},
        {"no xact_start, positive minimum", std::nullopt, 1s, false},
        {"no xact_start, no minimum", std::nullopt, 0s, true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      Policy policy = live_policy();
      policy.min_xact_age = c.min_xact_age;
      Backend backend = idle_backend(3600);  // state age far beyond the transaction's
      backend.xact_start.reset();
      if (c.xact_age) backend.xact_start = k_now - *c.xact_age;
      CHECK(matches(policy, backend) == c.matches);
    }
  }

  TEST_CASE("only_if_blocking needs min_blocked backends held up, and at least one") {
    struct Case {
      const char* what;
      bool only_if_blocking;
      int min_blocked;
      int held_up;
      bool matches;
    };
    const Case cases[] = {
        {"blocking one, minimum one", true, 1, 1, true},
        {"blocking none, minimum one", true, 1, 0, false},
        {"blocking two, minimum three", true, 3, 2, false},
        {"blocking three, minimum three", true, 3, 3, true},
        {"blocking four, minimum three", true, 3, 4, true},
        {"minimum zero still needs one", true, 0, 0, false},
        {"minimum zero, blocking one", true, 0, 1, true},
        {"not required and minimum zero", false, 0, 0, true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      Policy policy = live_policy();
      policy.only_if_blocking = c.only_if_blocking;
      policy.min_blocked = c.min_blocked;
      policy.roots_only = false;  // a backend blocking no one is no root
      CHECK(matches(policy, idle_backend(30), c.held_up, false) == c.matches);
    }
  }

  TEST_CASE("min_blocked counts backends held up transitively: the seed root holds up three") {
    struct Case {
      int min_blocked;
      bool matches;
    };
    for (const Case c : {Case{1, true}, Case{3, true}, Case{4, false}}) {
      CAPTURE(c.min_blocked);
      Policy policy = live_policy();
      policy.min_blocked = c.min_blocked;
      const Decisions decisions = decide_once(seed_incident(), live_safety(), {policy});
      CHECK(targets(decisions) == (c.matches ? Pids{65365} : Pids{}));
    }
  }

  TEST_CASE("min_blocked_wait is compared with the longest wait among those held up") {
    // Seed: 79250 has waited 45 s, 77970 30 s, 79337 12 s, all behind 65365.
    struct Case {
      Duration min_blocked_wait;
      bool matches;
    };
    for (const Case c : {Case{0s, true}, Case{45s, true}, Case{45001ms, false}, Case{1h, false}}) {
      CAPTURE(c.min_blocked_wait.count());
      Policy policy = live_policy();
      policy.min_blocked_wait = c.min_blocked_wait;
      const Decisions decisions = decide_once(seed_incident(), live_safety(), {policy});
      CHECK(targets(decisions) == (c.matches ? Pids{65365} : Pids{}));
    }
  }

  TEST_CASE("the blocked wait is the longest anywhere down the chain, from the query_start") {
    PollSnapshots snapshot = SnapshotBuilder()
                                 .idle_in_tx(1, "api", 600)
                                 .waiting(2, "api", {1}, 5)
                                 .waiting(3, "api", {2}, 50)
                                 .build();
    // State change and transaction start of the far waiter say nothing about its wait.
    backend_of(snapshot, 3).state_change = k_now - 7 * k_second;
    backend_of(snapshot, 3).xact_start = k_now - 900 * k_second;

    const Decision& d = only_decision(decide_once(snapshot, live_safety(), {live_policy()}));
    CHECK(d.target.pid == 1);
    CHECK(d.blocked_total == 2);
    CHECK(d.blocked_wait_seconds == doctest::Approx(50.0));
  }

  TEST_CASE("a held-up statement's wait counts from the lock wait, not from its start") {
    // A ten-minute UPDATE that hit the row lock 40s ago has waited 40s: a policy that asks
    // for a minute of waiting must not fire yet.
    PollSnapshots snapshot =
        SnapshotBuilder().idle_in_tx(1, "api", 900).waiting(2, "api", {1}, 40).build();
    backend_of(snapshot, 2).query_start = k_now - 600 * k_second;

    const Decision& d = only_decision(decide_once(snapshot, live_safety(), {live_policy()}));
    CHECK(d.blocked_total == 1);
    CHECK(d.blocked_wait_seconds == doctest::Approx(40.0));
    Policy patient = live_policy();
    patient.min_blocked_wait = std::chrono::minutes(1);
    CHECK(decide_once(snapshot, live_safety(), {patient}).empty());
  }

  TEST_CASE("roots_only skips blockers that themselves wait; roots_only = false acts on them") {
    // Seed: 65365 <- 79250 <- 77970 <- 79337; the waiters are all "active".
    Policy policy = live_policy("active-blockers");
    policy.states = {"active"};

    SUBCASE("roots only: no active backend is a root") {
      CHECK(decide_once(seed_incident(), live_safety(), {policy}).empty());
    }
    SUBCASE("not roots only: every active backend holding someone up") {
      policy.roots_only = false;
      const Decisions decisions = decide_once(seed_incident(), live_safety(), {policy});
      CHECK(targets(decisions) == Pids{79250, 77970});
      REQUIRE(decisions.size() == 2);
      CHECK(decisions[0].blocked_total == 2);  // 77970 and 79337
      CHECK(decisions[1].blocked_total == 1);  // 79337
    }
    SUBCASE("the matcher itself: a non-root fails only with roots_only") {
      const Backend waiter = idle_backend(30);
      policy.states = {"idle in transaction"};
      CHECK_FALSE(matches(policy, waiter, 2, /*is_root=*/false));
      CHECK(matches(policy, waiter, 2, /*is_root=*/true));
      policy.roots_only = false;
      CHECK(matches(policy, waiter, 2, /*is_root=*/false));
    }
  }

  TEST_CASE("glob include and exclude lists filter applications, users, databases and clients") {
    struct Dimension {
      const char* name;
      GlobFilter Policy::*filter;
      std::string Backend::*field;
    };
    const Dimension dimensions[] = {
        {"applications", &Policy::applications, &Backend::application_name},
        {"users", &Policy::users, &Backend::usename},
        {"databases", &Policy::databases, &Backend::datname},
        {"client_addrs", &Policy::client_addrs, &Backend::client_addr},
    };
    struct Case {
      const char* what;
      std::vector<std::string> include;
      std::vector<std::string> exclude;
      const char* value;
      bool matches;
    };
    const Case cases[] = {
        {"default include matches anything", {"*"}, {}, "web-7", true},
        {"default include matches empty", {"*"}, {}, "", true},
        {"literal include", {"web-7"}, {}, "web-7", true},
        {"literal include, other value", {"web-7"}, {}, "web-8", false},
        {"star include", {"web-*"}, {}, "web-12", true},
        {"question mark include", {"web-?"}, {}, "web-12", false},
        {"any of several includes", {"batch", "web-*"}, {}, "web-1", true},
        {"none of several includes", {"batch", "web-*"}, {}, "api", false},
        {"empty include list matches nothing", {}, {}, "web-7", false},
        {"exclude removes a match", {"*"}, {"web-*"}, "web-7", false},
        {"exclude not matching", {"*"}, {"web-*"}, "batch", true},
        {"exclude wins over an identical include", {"web-7"}, {"web-7"}, "web-7", false},
        {"exclude wins over a wider include", {"web-*"}, {"web-?"}, "web-7", false},
        {"narrow exclude leaves the rest", {"web-*"}, {"web-?"}, "web-17", true},
        {"matching is case sensitive", {"WEB-*"}, {}, "web-7", false},
    };
    for (const Dimension& dim : dimensions) {
      for (const Case& c : cases) {
        CAPTURE(dim.name);
        CAPTURE(c.what);
        Policy policy = live_policy();
        (policy.*dim.filter).include = c.include;
        (policy.*dim.filter).exclude = c.exclude;
        Backend backend = idle_backend(30);
        backend.*dim.field = c.value;
        CHECK(matches(policy, backend) == c.matches);
      }
    }
  }

  TEST_CASE("a filter on one field ignores the others") {
    Policy policy = live_policy();
    policy.users.include = {"app"};
    policy.databases.exclude = {"scratch"};
    Backend backend = idle_backend(30);  // user "app", database "shop", application "api"
    CHECK(matches(policy, backend));
    backend.datname = "scratch";
    CHECK_FALSE(matches(policy, backend));
  }
}

TEST_SUITE("policy decisions") {
  TEST_CASE("the first matching policy decides, one decision per backend") {
    Policy first = live_policy("first", PolicyAction::cancel);
    Policy second = live_policy("second", PolicyAction::terminate);

    SUBCASE("both match: the first listed wins") {
      const Decision& d =
          only_decision(decide_once(seed_incident(), live_safety(), {first, second}));
      CHECK(d.policy == "first");
      CHECK(d.action == PolicyAction::cancel);
    }
    SUBCASE("order reversed: the other one wins") {
      const Decision& d =
          only_decision(decide_once(seed_incident(), live_safety(), {second, first}));
      CHECK(d.policy == "second");
      CHECK(d.action == PolicyAction::terminate);
    }
    SUBCASE("a first policy that does not match passes to the next") {
      first.min_blocked = 4;
      const Decision& d =
          only_decision(decide_once(seed_incident(), live_safety(), {first, second}));
      CHECK(d.policy == "second");
    }
    SUBCASE("a protected backend still gets a single decision, from the first policy") {
      PollSnapshots snapshot = seed_incident();
      backend_of(snapshot, 65365).usename = "postgres";
      const Decision& d = only_decision(decide_once(snapshot, live_safety(), {first, second}));
      CHECK(d.policy == "first");
      CHECK(d.outcome == Outcome::protected_);
    }
  }

  TEST_CASE("no policies, no decisions") {
    CHECK(decide_once(seed_incident(), live_safety(), {}).empty());
  }

  TEST_CASE("each outcome before signalling: protected, logged, dry run, rate limited, pending") {
    struct Case {
      const char* what;
      const char* user;
      PolicyAction action;
      bool dry_run;
      int max_actions_per_minute;
      Outcome outcome;
    };
    const Case cases[] = {
        {"terminate", "app", PolicyAction::terminate, false, 6, Outcome::pending},
        {"cancel", "app", PolicyAction::cancel, false, 6, Outcome::pending},
        {"protected user", "postgres", PolicyAction::terminate, false, 6, Outcome::protected_},
        {"protected beats log and dry run", "postgres", PolicyAction::log, true, 0,
         Outcome::protected_},
        {"log, not dry run", "app", PolicyAction::log, false, 6, Outcome::logged},
        {"log, dry run", "app", PolicyAction::log, true, 6, Outcome::logged},
        {"log takes no rate-limit slot", "app", PolicyAction::log, false, 0, Outcome::logged},
        {"dry run terminate", "app", PolicyAction::terminate, true, 6, Outcome::dry_run},
        {"dry run cancel", "app", PolicyAction::cancel, true, 6, Outcome::dry_run},
        {"dry run takes no rate-limit slot", "app", PolicyAction::terminate, true, 0,
         Outcome::dry_run},
        {"no slot left", "app", PolicyAction::terminate, false, 0, Outcome::rate_limited},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      PollSnapshots snapshot = seed_incident();
      backend_of(snapshot, 65365).usename = c.user;
      Policy policy = live_policy("p", c.action);
      policy.dry_run = c.dry_run;
      const Decision& d =
          only_decision(decide_once(snapshot, live_safety(c.max_actions_per_minute), {policy}));
      CHECK(d.outcome == c.outcome);
      CHECK(d.action == c.action);
    }
  }

  TEST_CASE("protected users and applications are globs and override any matching policy") {
    struct Case {
      const char* what;
      std::vector<std::string> protected_users;
      std::vector<std::string> protected_applications;
      const char* user;
      const char* application;
      Outcome outcome;
    };
    const Case cases[] = {
        {"user glob", {"post*"}, {}, "postgres_admin", "api", Outcome::protected_},
        {"user glob, other user", {"post*"}, {}, "app", "api", Outcome::pending},
        {"application glob", {}, {"pg_dump*"}, "app", "pg_dump_nightly", Outcome::protected_},
        {"application ?", {}, {"backup-?"}, "app", "backup-3", Outcome::protected_},
        {"application glob, other app", {}, {"pg_dump*"}, "app", "api", Outcome::pending},
        {"default protected user", {"postgres"}, {}, "postgres", "api", Outcome::protected_},
        {"nothing protected", {}, {}, "postgres", "pg_dump", Outcome::pending},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      PollSnapshots snapshot = seed_incident();
      backend_of(snapshot, 65365).usename = c.user;
      backend_of(snapshot, 65365).application_name = c.application;
      SafetyConfig safety = live_safety();
      safety.protected_users = c.protected_users;
      safety.protected_applications = c.protected_applications;
      const Decision& d = only_decision(decide_once(snapshot, safety, {live_policy()}));
      CHECK(d.outcome == c.outcome);
      CHECK(d.reason.empty() == (c.outcome != Outcome::protected_));
    }
  }

  TEST_CASE("the default safety protects postgres, pg_dump, pg_basebackup and pg_lockwatch") {
    const SafetyConfig safety = live_safety();
    Backend backend = idle_backend(30);
    CHECK_FALSE(protection_reason(backend, safety).has_value());
    for (const char* app : {"pg_dump", "pg_basebackup", "pg_lockwatch"}) {
      CAPTURE(app);
      backend.application_name = app;
      CHECK(protection_reason(backend, safety).has_value());
    }
    backend.application_name = "api";
    backend.usename = "postgres";
    CHECK(protection_reason(backend, safety).has_value());
  }

  TEST_CASE("superusers are protected unless allow_superusers") {
    PollSnapshots snapshot = seed_incident();
    backend_of(snapshot, 65365).superuser = true;
    backend_of(snapshot, 65365).usename = "dba";
    SafetyConfig safety = live_safety();

    SUBCASE("not allowed") {
      const Decision& d = only_decision(decide_once(snapshot, safety, {live_policy()}));
      CHECK(d.outcome == Outcome::protected_);
      CHECK_FALSE(d.reason.empty());
    }
    SUBCASE("allowed") {
      safety.allow_superusers = true;
      const Decision& d = only_decision(decide_once(snapshot, safety, {live_policy()}));
      CHECK(d.outcome == Outcome::pending);
    }
    SUBCASE("allowed, but a protected user all the same") {
      safety.allow_superusers = true;
      safety.protected_users = {"dba"};
      const Decision& d = only_decision(decide_once(snapshot, safety, {live_policy()}));
      CHECK(d.outcome == Outcome::protected_);
    }
  }

  TEST_CASE("a session whose identity is incomplete is never signalled") {
    for (const bool drop_backend_start : {true, false}) {
      CAPTURE(drop_backend_start);
      Backend backend = idle_backend(30);
      if (drop_backend_start) {
        backend.backend_start.reset();
      } else {
        backend.state_change.reset();
      }
      CHECK(protection_reason(backend, live_safety()).has_value());
    }
  }

  TEST_CASE("non-client backends never appear as decisions, even as the root of a chain") {
    PollSnapshots snapshot = SnapshotBuilder()
                                 .active(10, "", 400)
                                 .backend_type("autovacuum worker")
                                 .waiting(11, "api", {10}, 60)
                                 .build();
    Policy any_active = live_policy("any-active", PolicyAction::log);
    any_active.states = {"active"};
    any_active.roots_only = false;
    any_active.only_if_blocking = false;
    any_active.min_blocked = 0;

    const Decisions decisions = decide_once(snapshot, live_safety(), {any_active});
    CHECK(targets(decisions) == Pids{11});  // the client backend does match
    // The autovacuum worker would match as well, were it a client backend.
    CHECK(policy_matches(any_active, snapshot.activity.backends.front(), false, 1, 60, k_now));
    CHECK(protection_reason(snapshot.activity.backends.front(), live_safety()).has_value());
  }

  TEST_CASE("decision fields are taken from the snapshot") {
    const PollSnapshots snapshot = seed_incident();
    const Decision& d = only_decision(decide_once(snapshot, live_safety(), {live_policy()}));

    CHECK(d.policy == "idle-blockers");
    CHECK(d.action == PolicyAction::terminate);
    CHECK(d.outcome == Outcome::pending);
    CHECK(d.reason.empty());
    CHECK(d.target.pid == 65365);
    CHECK(d.target.backend_start == k_now - (312 + 3600) * k_second);
    CHECK(d.target.state == "idle in transaction");
    CHECK(d.target.state_change == k_now - 312 * k_second);
    CHECK(d.usename == "app");
    CHECK(d.application_name == "api");
    CHECK(d.datname == "shop");
    CHECK(d.client_addr == "10.0.0.7");
    CHECK(d.query == "SELECT * FROM accounts WHERE id = ? FOR UPDATE");
    CHECK(d.state_age_seconds == doctest::Approx(312.0));
    CHECK(d.xact_age_seconds == doctest::Approx(313.0));
    CHECK(d.blocked_total == 3);
    CHECK(d.blocked_wait_seconds == doctest::Approx(45.0));
  }

  TEST_CASE("ages are fractional seconds and 0 without a transaction") {
    PollSnapshots snapshot = seed_incident();
    backend_of(snapshot, 65365).state_change = k_now - 2'500'000;
    backend_of(snapshot, 65365).xact_start.reset();
    const Decision& d = only_decision(decide_once(snapshot, live_safety(), {live_policy()}));
    CHECK(d.state_age_seconds == doctest::Approx(2.5));
    CHECK(d.xact_age_seconds == doctest::Approx(0.0));
    CHECK(d.target.state_change == k_now - 2'500'000);
  }

  TEST_CASE("every outcome has its metric label") {
    const std::pair<Outcome, std::string_view> labels[] = {
        {Outcome::pending, "pending"},      {Outcome::terminated, "terminated"},
        {Outcome::cancelled, "cancelled"},  {Outcome::logged, "logged"},
        {Outcome::dry_run, "dry_run"},      {Outcome::vanished, "vanished"},
        {Outcome::protected_, "protected"}, {Outcome::rate_limited, "rate_limited"},
        {Outcome::denied, "denied"},        {Outcome::failed, "failed"},
        {Outcome::unknown, "unknown"},
    };
    for (const auto& [outcome, label] : labels) CHECK(to_string(outcome) == label);
    // The metric declares every settled outcome: all of them but pending.
    CHECK(settled_outcomes().size() == std::size(labels) - 1);
    for (const Outcome o : settled_outcomes()) CHECK(o != Outcome::pending);
  }
}

TEST_SUITE("policy dry run from the config") {
  // The outcome for the seed incident's root under a parsed config.
  Outcome outcome_under(const Config& config) {
    return only_decision(decide_once(seed_incident(), config.safety, config.policies)).outcome;
  }

  TEST_CASE("a policy without dry_run inherits [safety] dry_run; its own dry_run overrides") {
    struct Case {
      const char* what;
      const char* toml;
      Outcome outcome;
    };
    const Case cases[] = {
        {"safety off, policy silent",
         "[safety]\ndry_run = false\n\n[[policy]]\nname = \"p\"\naction = \"terminate\"\n",
         Outcome::pending},
        {"safety off, policy dry run",
         "[safety]\ndry_run = false\n\n[[policy]]\nname = \"p\"\naction = \"terminate\"\n"
         "dry_run = true\n",
         Outcome::dry_run},
        {"safety on, policy silent",
         "[safety]\ndry_run = true\n\n[[policy]]\nname = \"p\"\naction = \"terminate\"\n",
         Outcome::dry_run},
        {"no safety section: dry run by default",
         "[[policy]]\nname = \"p\"\naction = \"terminate\"\n", Outcome::dry_run},
        {"safety on, policy opts out",
         "[safety]\ndry_run = true\n\n[[policy]]\nname = \"p\"\naction = \"terminate\"\n"
         "dry_run = false\n",
         Outcome::pending},
        {"safety section written after the policy",
         "[[policy]]\nname = \"p\"\naction = \"terminate\"\n\n[safety]\ndry_run = false\n",
         Outcome::pending},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      const Config config = parse_ok(c.toml);
      CHECK(outcome_under(config) == c.outcome);
    }
  }

  // What the daemon keeps on a failed reload is tested on the daemon itself
  // (integration/test_policies.py::test_a_broken_reload_keeps_the_policies_and_a_good_one_
  // replaces_them); the parser's part is that a failure is only an error.
  TEST_CASE("a failed parse is only an error naming the file; nothing leaks into the next") {
    const char* good =
        "[watch]\ninterval = \"5s\"\n\n[safety]\ndry_run = false\nmax_actions_per_minute = 3\n"
        "[[policy]]\nname = \"idle-blockers\"\naction = \"terminate\"\nmin_state_age = \"60s\"\n";
    const char* broken[] = {
        "[safety]\ndry_run = \n",
        "[safety]\ndry_run = true\nmax_actions_per_minute = 99\n\n"
        "[[policy]]\nname = \"other\"\naction = \"explode\"\n",
        "[[policy]]\nname = \"a\"\n[[policy]]\nname = \"a\"\n",
    };
    for (const char* text : broken) {
      CAPTURE(text);
      const auto reloaded = parse_config(text, "cfg.toml");
      REQUIRE_FALSE(reloaded.has_value());
      CHECK(reloaded.error().starts_with("cfg.toml:"));
    }
    const Config fresh = parse_ok("");
    CHECK(fresh.safety.dry_run);
    CHECK(fresh.safety.max_actions_per_minute == 6);
    CHECK(fresh.policies.empty());
    const Config again = parse_ok(good);
    CHECK(again.safety.max_actions_per_minute == 3);
    REQUIRE(again.policies.size() == 1);
    CHECK(again.policies[0].name == "idle-blockers");
  }
}

TEST_SUITE("policy rate limiter") {
  TEST_CASE("N per rolling minute: the N+1th is refused until the oldest is 60 s old") {
    RateLimiter limiter;
    const Micros t0 = k_now;
    CHECK(limiter.try_acquire(3, monotonic_at(t0)));
    CHECK(limiter.try_acquire(3, monotonic_at(t0 + 1 * k_second)));
    CHECK(limiter.try_acquire(3, monotonic_at(t0 + 2 * k_second)));
    CHECK_FALSE(limiter.try_acquire(3, monotonic_at(t0 + 3 * k_second)));
    CHECK_FALSE(limiter.try_acquire(3, monotonic_at(t0 + 30 * k_second)));
    CHECK_FALSE(limiter.try_acquire(3, monotonic_at(t0 + k_minute - 1)));
    CHECK(limiter.try_acquire(3, monotonic_at(t0 + k_minute)));  // the oldest is exactly 60 s old
    CHECK_FALSE(limiter.try_acquire(3, monotonic_at(t0 + k_minute)));
    CHECK_FALSE(limiter.try_acquire(3, monotonic_at(t0 + k_minute + k_second - 1)));
    CHECK(limiter.try_acquire(3, monotonic_at(t0 + k_minute + k_second)));
  }

  TEST_CASE("refused attempts take no slot") {
    RateLimiter limiter;
    CHECK(limiter.try_acquire(1, monotonic_at(k_now)));
    for (int i = 1; i < 60; ++i)
      CHECK_FALSE(limiter.try_acquire(1, monotonic_at(k_now + i * k_second)));
    CHECK(limiter.try_acquire(1, monotonic_at(k_now + k_minute)));
  }

  TEST_CASE("a limit of zero refuses everything") {
    RateLimiter limiter;
    for (const Micros at : {k_now, k_now + k_minute, k_now + 10 * k_minute}) {
      CHECK_FALSE(limiter.try_acquire(0, monotonic_at(at)));
    }
  }

  TEST_CASE("a burst after a quiet hour gets the full allowance") {
    RateLimiter limiter;
    for (int i = 0; i < 4; ++i) CHECK(limiter.try_acquire(4, monotonic_at(k_now)));
    CHECK_FALSE(limiter.try_acquire(4, monotonic_at(k_now)));
    const Micros later = k_now + 60 * k_minute;
    for (int i = 0; i < 4; ++i) CHECK(limiter.try_acquire(4, monotonic_at(later)));
    CHECK_FALSE(limiter.try_acquire(4, monotonic_at(later)));
  }

  TEST_CASE("five matching roots under a limit of two: two pending, three rate limited") {
    PolicyEngine engine;
    const Pids roots = {100, 200, 300, 400, 500};
    const Decisions first =
        decide(engine, independent_roots(roots), live_safety(2), {live_policy()});
    CHECK(targets(first) == roots);
    CHECK(count_outcome(first, Outcome::pending) == 2);
    CHECK(count_outcome(first, Outcome::rate_limited) == 3);

    SUBCASE("the next poll within the minute is refused entirely") {
      const Decisions next = decide(engine, independent_roots(roots, k_now + 30 * k_second),
                                    live_safety(2), {live_policy()});
      CHECK(count_outcome(next, Outcome::rate_limited) == 5);
    }
    SUBCASE("a minute later two more slots are free") {
      const Decisions next = decide(engine, independent_roots(roots, k_now + k_minute),
                                    live_safety(2), {live_policy()});
      CHECK(count_outcome(next, Outcome::pending) == 2);
      CHECK(count_outcome(next, Outcome::rate_limited) == 3);
    }
  }

  TEST_CASE("the rate limit runs on the monotonic clock, not the server's") {
    PolicyEngine engine;
    const Pids roots = {100, 200};
    const Decisions first =
        decide(engine, independent_roots(roots), live_safety(1), {live_policy()}, monotonic_at(0));
    CHECK(count_outcome(first, Outcome::pending) == 1);

    SUBCASE("the server's clock set back an hour: a minute later a slot is free") {
      const Decisions next = decide(engine, independent_roots(roots, k_now - 3600 * k_second),
                                    live_safety(1), {live_policy()}, monotonic_at(k_minute));
      CHECK(count_outcome(next, Outcome::pending) == 1);
    }
    SUBCASE("the server's clock set forward an hour: no slot frees early") {
      const Decisions next = decide(engine, independent_roots(roots, k_now + 3600 * k_second),
                                    live_safety(1), {live_policy()}, monotonic_at(k_second));
      CHECK(count_outcome(next, Outcome::rate_limited) == 2);
    }
  }

  TEST_CASE("dry runs and protected sessions leave the rate limit to real signals") {
    PolicyEngine engine;
    PollSnapshots snapshot = independent_roots({100, 200, 300});
    backend_of(snapshot, 100).usename = "postgres";
    Policy dry = live_policy("dry");
    dry.dry_run = true;
    dry.applications.include = {"dry-*"};
    backend_of(snapshot, 200).application_name = "dry-run-app";

    const Decisions decisions = decide(engine, snapshot, live_safety(1), {dry, live_policy()});
    REQUIRE(decisions.size() == 3);
    CHECK(decisions[0].outcome == Outcome::protected_);
    CHECK(decisions[1].outcome == Outcome::dry_run);
    CHECK(decisions[2].outcome == Outcome::pending);
  }
}

TEST_SUITE("policy reporting") {
  Decision decision_about(int pid, Micros backend_start, std::string policy, Outcome outcome) {
    Decision d;
    d.policy = std::move(policy);
    d.target.pid = pid;
    d.target.backend_start = backend_start;
    d.outcome = outcome;
    return d;
  }

  TEST_CASE("note_outcome reports news once per session, policy and outcome") {
    PolicyEngine engine;
    const Micros start = k_now - 3600 * k_second;
    CHECK(engine.note_outcome(decision_about(42, start, "p", Outcome::dry_run)));
    CHECK_FALSE(engine.note_outcome(decision_about(42, start, "p", Outcome::dry_run)));
    CHECK_FALSE(engine.note_outcome(decision_about(42, start, "p", Outcome::dry_run)));

    SUBCASE("a changed outcome is news, and unchanged again is not") {
      CHECK(engine.note_outcome(decision_about(42, start, "p", Outcome::rate_limited)));
      CHECK_FALSE(engine.note_outcome(decision_about(42, start, "p", Outcome::rate_limited)));
      CHECK(engine.note_outcome(decision_about(42, start, "p", Outcome::dry_run)));
    }
    SUBCASE("a reused pid with a new backend_start is a new session") {
      CHECK(engine.note_outcome(decision_about(42, start + k_second, "p", Outcome::dry_run)));
      CHECK_FALSE(engine.note_outcome(decision_about(42, start + k_second, "p", Outcome::dry_run)));
    }
    SUBCASE("another policy about the same session is news") {
      CHECK(engine.note_outcome(decision_about(42, start, "q", Outcome::dry_run)));
    }
    SUBCASE("another pid is news") {
      CHECK(engine.note_outcome(decision_about(43, start, "p", Outcome::dry_run)));
    }
  }

  TEST_CASE("decisions poll after poll are news only the first time") {
    PolicyEngine engine;
    for (int poll = 0; poll < 3; ++poll) {
      CAPTURE(poll);
      const Decisions decisions =
          decide(engine, seed_incident(), live_safety(), {live_policy("p", PolicyAction::log)});
      const Decision& d = only_decision(decisions);
      CHECK(engine.note_outcome(d) == (poll == 0));
    }
  }

  // The same backend (a pooled connection) `hours` later: every timestamp but
  // backend_start moves, as when it runs a new transaction.
  PollSnapshots hours_later(PollSnapshots snapshot, int hours) {
    const Micros shift = hours * 3600 * k_second;
    snapshot.activity.taken_at += shift;
    for (LockQueue& q : snapshot.locks.queues) {
      for (LockEntry& e : q.entries) {
        if (e.waitstart) *e.waitstart += shift;
      }
    }
    for (Backend& b : snapshot.activity.backends) {
      for (std::optional<Micros>* t : {&b.xact_start, &b.query_start, &b.state_change}) {
        if (*t) **t += shift;
      }
    }
    return snapshot;
  }

  TEST_CASE("a pooled session that blocks again in a later transaction is news again") {
    PolicyEngine engine;
    const Policy policy = live_policy("p", PolicyAction::log);
    const Decision first = only_decision(decide(engine, seed_incident(), live_safety(), {policy}));
    CHECK(engine.note_outcome(first));

    const Decision again =
        only_decision(decide(engine, hours_later(seed_incident(), 3), live_safety(), {policy}));
    REQUIRE(again.target.pid == first.target.pid);
    REQUIRE(again.target.backend_start == first.target.backend_start);
    CHECK(engine.note_outcome(again));
    CHECK_FALSE(engine.note_outcome(again));
    // The ended transaction is forgotten, so memory stays bounded by the live sessions.
    CHECK(engine.note_outcome(first));
  }

  TEST_CASE("sessions that ended are forgotten: the same key is news again") {
    PolicyEngine engine;
    const Policy policy = live_policy("p", PolicyAction::log);
    const Decision d = only_decision(decide(engine, seed_incident(), live_safety(), {policy}));
    CHECK(engine.note_outcome(d));
    CHECK_FALSE(engine.note_outcome(d));

    SUBCASE("still there on the next poll: remembered") {
      decide(engine, seed_incident(), live_safety(), {policy});
      CHECK_FALSE(engine.note_outcome(d));
    }
    SUBCASE("gone from the next poll: forgotten") {
      decide(engine, SnapshotBuilder().active(1, "api").build(), live_safety(), {policy});
      CHECK(engine.note_outcome(d));
    }
    SUBCASE("forgotten even when no policy is configured") {
      decide(engine, SnapshotBuilder().active(1, "api").build(), live_safety(), {});
      CHECK(engine.note_outcome(d));
    }
    SUBCASE("the pid now belongs to a new session: forgotten") {
      PollSnapshots reused = seed_incident();
      backend_of(reused, 65365).backend_start = k_now - k_second;
      decide(engine, reused, live_safety(), {policy});
      CHECK(engine.note_outcome(d));
    }
  }
}

TEST_SUITE("policy signal confirmation") {
  // The seed incident's root, signalled with an unknown result at monotonic time 0.
  struct Signalled {
    PolicyEngine engine;
    Decision sent;
    explicit Signalled(PolicyAction action = PolicyAction::terminate) {
      sent = only_decision(decide(engine, seed_incident(), live_safety(),
                                  {live_policy("p", action)}, monotonic_at(0)));
      REQUIRE(sent.outcome == Outcome::pending);
      sent.outcome = Outcome::unknown;
      sent.reason = "no answer";
      REQUIRE(engine.note_outcome(sent));
    }
  };

  // The seed incident once its root ended: its row and its locks are gone.
  PollSnapshots without_root() {
    PollSnapshots s = seed_incident();
    std::erase_if(s.activity.backends, [](const Backend& b) { return b.pid == 65365; });
    for (LockQueue& q : s.locks.queues) {
      std::erase_if(q.entries, [](const LockEntry& e) { return e.session == 65365; });
    }
    return s;
  }

  TEST_CASE("the sessions awaiting confirmation are the ones the next poll must return") {
    // The daemon's quiet poll returns only backends that matter: without asking for this
    // pid, a root that stopped blocking would look gone, and be confirmed terminated.
    Signalled s;
    CHECK(s.engine.awaiting_confirmation() == std::vector<int>{65365});
    s.engine.confirm(Observation(without_root()), monotonic_at(k_second));
    CHECK(s.engine.awaiting_confirmation().empty());
  }

  TEST_CASE("a terminated session gone at the next poll is confirmed terminated") {
    Signalled s;
    const Decisions settled = s.engine.confirm(Observation(without_root()), monotonic_at(k_second));
    const Decision& d = only_decision(settled);
    CHECK(d.outcome == Outcome::terminated);
    CHECK(d.target.pid == 65365);
    CHECK(d.reason == "confirmed by a later poll: the session is gone");
    CHECK(s.engine.confirm(Observation(without_root()), monotonic_at(2 * k_second)).empty());
  }

  TEST_CASE("a pid now used by another session counts as gone") {
    Signalled s;
    PollSnapshots reused = seed_incident();
    backend_of(reused, 65365).backend_start = k_now - k_second;
    CHECK(only_decision(s.engine.confirm(Observation(reused), monotonic_at(k_second))).outcome ==
          Outcome::terminated);
  }

  TEST_CASE("still there: no confirmation yet, not signalled again, no rate-limit slot taken") {
    Signalled s;
    CHECK(s.engine.confirm(Observation(seed_incident()), monotonic_at(k_second)).empty());
    PollSnapshots two = seed_incident();
    const PollSnapshots other = independent_roots({500});
    two.activity.backends.insert(two.activity.backends.end(), other.activity.backends.begin(),
                                 other.activity.backends.end());
    two.locks.queues.insert(two.locks.queues.end(), other.locks.queues.begin(),
                            other.locks.queues.end());
    // Two a minute: the first signal took one; the root awaiting confirmation takes none.
    const Decisions next =
        decide(s.engine, two, live_safety(2), {live_policy("p", PolicyAction::terminate)},
               monotonic_at(k_second));
    REQUIRE(next.size() == 2);
    CHECK(next[0].target.pid == 65365);
    CHECK(next[0].outcome == Outcome::unknown);
    CHECK_FALSE(s.engine.note_outcome(next[0]));  // the same unknown is no news
    CHECK(next[1].outcome == Outcome::pending);   // the second slot went to the other root
  }

  TEST_CASE("still unchanged after the window: failed, and the session may be decided again") {
    Signalled s;
    CHECK(s.engine.confirm(Observation(seed_incident()), monotonic_at(9 * k_second)).empty());
    const Decision& d =
        only_decision(s.engine.confirm(Observation(seed_incident()), monotonic_at(10 * k_second)));
    CHECK(d.outcome == Outcome::failed);
    CHECK(d.reason == "still unchanged 10s after the signal (no answer)");
    const Decision again = only_decision(decide(s.engine, seed_incident(), live_safety(),
                                                {live_policy()}, monotonic_at(10 * k_second)));
    CHECK(again.outcome == Outcome::pending);
  }

  TEST_CASE("a cancel is confirmed when the statement ended, or the session") {
    SUBCASE("state_change moved") {
      Signalled s(PolicyAction::cancel);
      PollSnapshots later = seed_incident();
      *backend_of(later, 65365).state_change += k_second;
      const Decision& d =
          only_decision(s.engine.confirm(Observation(later), monotonic_at(k_second)));
      CHECK(d.outcome == Outcome::cancelled);
      CHECK(d.reason == "confirmed by a later poll: the statement ended");
    }
    SUBCASE("the session is gone") {
      Signalled s(PolicyAction::cancel);
      CHECK(only_decision(s.engine.confirm(Observation(without_root()), monotonic_at(k_second)))
                .outcome == Outcome::cancelled);
    }
    SUBCASE("unchanged: not yet") {
      Signalled s(PolicyAction::cancel);
      CHECK(s.engine.confirm(Observation(seed_incident()), monotonic_at(k_second)).empty());
    }
  }
}

}  // namespace
}  // namespace lockwatch
