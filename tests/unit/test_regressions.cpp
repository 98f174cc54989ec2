// Bugs found by fuzzing and review, each pinned by the input that exposed it.
#include <doctest/doctest.h>

#include "core/backoff.hpp"
#include "core/config.hpp"
#include "core/duration.hpp"
#include "core/observation.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {

TEST_SUITE("regressions") {
  TEST_CASE("huge hour and minute counts are too large, not wrapped around") {
    // fuzz_duration crash-891f74c2: "9999999999999h" overflowed int64 before the check.
    for (const char* text :
         {"9999999999999h", "3000000000000h", "297197543409765h", "150000000000000m"}) {
      CAPTURE(text);
      const auto parsed = parse_duration(text);
      REQUIRE_FALSE(parsed);
      CHECK(parsed.error().find("too large") != std::string::npos);
    }
  }

  TEST_CASE("a backoff delay after a failure is never zero") {
    CHECK(Backoff(Duration(1), Duration(1)).delay(1, 0.0) == Duration(1));
  }

  TEST_CASE("errors about top-level keys have one space after the line number") {
    const auto config = parse_config("watch = 5\n", "cfg.toml");
    REQUIRE_FALSE(config);
    CHECK(config.error() == "cfg.toml:1: watch: expected a table [watch]");
    const auto unknown = parse_config("foo = 1\n", "cfg.toml");
    CHECK(unknown.error() == "cfg.toml:1: foo: unknown key");
  }

  TEST_CASE("a root's longest wait includes a waiting parallel worker of an idle leader") {
    // Leader 200 waits on IPC for its worker 201, which waits on the lock 100 holds.
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .at(k_now)
                                       .idle_in_tx(100, "api", 60)
                                       .active(200, "report", 50)
                                       .waiting(201, "report", {100}, 50)
                                       .worker_of(200)
                                       .build();
    const Observation obs(snapshot);
    const LockAnalysis& analysis = obs.locks();
    REQUIRE(analysis.roots.size() == 1);
    CHECK(analysis.roots[0].waiters == std::vector<int>{200});
    CHECK(analysis.roots[0].longest_wait_seconds == doctest::Approx(50));
  }
}

}  // namespace lockwatch

#include "core/glob.hpp"
#include "core/observation.hpp"
#include "core/policy_engine.hpp"

namespace lockwatch {

TEST_SUITE("regressions") {
  TEST_CASE("a '*' in the text does not stop a '*' in the pattern matching") {
    CHECK(glob_match("*", "*x"));
    CHECK(glob_match("*a", "*ba"));
    CHECK(glob_match("a*", "a*b"));
    CHECK(glob_match("*b", "**b"));
    CHECK(glob_match("pg_dump*", "pg_dump*evil"));
  }

  TEST_CASE("policies fold parallel workers onto their leader, as the lock graph does") {
    Policy any_active;
    any_active.name = "active";
    any_active.states = {"active", "idle in transaction"};
    SafetyConfig live;
    live.dry_run = false;
    live.protected_users = {};
    any_active.dry_run = false;
    SUBCASE("a leader waited on only by its own worker blocks nobody") {
      const Observation obs(SnapshotBuilder()
                                .at(k_now)
                                .active(200, "report", 10)
                                .waiting(201, "report", {200}, 5)
                                .worker_of(200)
                                .build());
      PolicyEngine engine;
      CHECK(engine.decide(obs, live, {any_active}, MonotonicTime{}).empty());
    }
    SUBCASE("a root holding up a leader and its workers holds up one backend") {
      const Observation obs(SnapshotBuilder()
                                .at(k_now)
                                .idle_in_tx(100, "api", 60)
                                .waiting(200, "report", {100}, 5)
                                .waiting(201, "report", {100}, 5)
                                .worker_of(200)
                                .waiting(202, "report", {100}, 5)
                                .worker_of(200)
                                .build());
      PolicyEngine engine;
      const auto decisions = engine.decide(obs, live, {any_active}, MonotonicTime{});
      REQUIRE(decisions.size() == 1);
      CHECK(decisions[0].target.pid == 100);
      CHECK(decisions[0].blocked_total == 1);
    }
  }

  TEST_CASE("only_if_blocking = false needs no blocking, whatever min_blocked says") {
    Policy reaper;
    reaper.name = "reaper";
    reaper.only_if_blocking = false;
    const Backend idle =
        SnapshotBuilder().at(k_now).idle_in_tx(100, "api", 60).build().activity.backends.front();
    CHECK(policy_matches(reaper, idle, /*is_blocked=*/false, 0, 0, k_now));
  }
}

}  // namespace lockwatch
