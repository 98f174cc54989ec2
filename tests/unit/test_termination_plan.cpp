#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/termination_plan.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

// Three idle transactions: 65365 blocks a migration, 70000 blocks nobody, 80000 belongs
// to the superuser postgres, and 90000 is a protected pg_dump.
PollSnapshots incident() {
  return SnapshotBuilder()
      .at(k_now)
      .idle_in_tx(65365, "api", 312)
      .waiting(79250, "migrate", {65365}, 45)
      .idle_in_tx(70000, "report", 600)
      .idle_in_tx(80000, "psql", 100)
      .user("postgres")
      .idle_in_tx(90000, "pg_dump", 50)
      .build();
}

TerminateRequest idle(Duration older_than = 0s, bool only_blocking = false) {
  TerminateRequest r;
  r.idle_in_transaction = true;
  r.older_than = older_than;
  r.only_blocking = only_blocking;
  return r;
}

TerminateRequest by_pid(int pid) {
  TerminateRequest r;
  r.pid = pid;
  return r;
}

std::vector<int> pids(const std::vector<TerminationTarget>& targets) {
  std::vector<int> out;
  for (const auto& t : targets) out.push_back(t.session.pid);
  return out;
}

TEST_SUITE("termination plan") {
  const Observation obs(incident());
  const SafetyConfig safety;  // the defaults: postgres, pg_dump, ... and superusers protected

  TEST_CASE("idle-in-transaction sessions are selected longest idle first") {
    CHECK(pids(plan_termination(idle(), obs, safety)) ==
          std::vector<int>{70000, 65365, 80000, 90000});
    CHECK(pids(plan_termination(idle(200s), obs, safety)) == std::vector<int>{70000, 65365});
  }

  TEST_CASE("--only-blocking keeps the ones holding someone up") {
    CHECK(pids(plan_termination(idle(0s, true), obs, safety)) == std::vector<int>{65365});
  }

  TEST_CASE("--user and --application are globs") {
    TerminateRequest r = idle();
    r.application = "rep*";
    CHECK(pids(plan_termination(r, obs, safety)) == std::vector<int>{70000});
    r.application.clear();
    r.user = "post?res";
    CHECK(pids(plan_termination(r, obs, safety)) == std::vector<int>{80000});
  }

  TEST_CASE("the daemon's protections settle targets before any signal") {
    const auto targets = plan_termination(idle(), obs, safety);
    REQUIRE(targets.size() == 4);
    CHECK(targets[0].outcome == Outcome::pending);
    CHECK(targets[2].outcome == Outcome::protected_);
    CHECK(targets[2].reason == "protected user postgres");
    CHECK(targets[3].outcome == Outcome::protected_);
    CHECK(targets[3].reason == "protected application pg_dump");
    CHECK(targets[0].identity.pid == 70000);
    CHECK(targets[0].identity.state == "idle in transaction");
    CHECK(targets[0].identity.backend_start ==
          k_now - 3600 * k_micros_per_second - 600 * k_micros_per_second);
  }

  TEST_CASE("--pid selects that session whatever its state, or nothing") {
    CHECK(pids(plan_termination(by_pid(79250), obs, safety)) == std::vector<int>{79250});
    CHECK(plan_termination(by_pid(12345), obs, safety).empty());
  }

  TEST_CASE("the exit code says whether the command did what it was asked") {
    auto targets = plan_termination(idle(), obs, safety);
    targets[0].outcome = Outcome::terminated;
    targets[1].outcome = Outcome::vanished;
    CHECK_FALSE(termination_failed(idle(), targets));  // protected and vanished: by design
    targets[1].outcome = Outcome::denied;
    CHECK(termination_failed(idle(), targets));
    CHECK_FALSE(termination_failed(idle(), {}));

    const TerminateRequest pid = by_pid(80000);
    auto one = plan_termination(pid, obs, safety);
    CHECK(termination_failed(pid, one));  // protected
    one[0].outcome = Outcome::vanished;
    CHECK(termination_failed(pid, one));
    one[0].outcome = Outcome::terminated;
    CHECK_FALSE(termination_failed(pid, one));
    one[0].outcome = Outcome::unknown;  // signalled, not seen gone
    CHECK(termination_failed(pid, one));
    CHECK(termination_failed(pid, {}));  // no such pid
  }

  TEST_CASE("results print one aligned row per session, with the reason") {
    auto targets = plan_termination(idle(), obs, safety);
    targets[0].outcome = Outcome::terminated;
    const std::string text = render_termination_text(targets);
    CHECK(
        text.starts_with("  PID    USER      APPLICATION  STATE                AGE   OUTCOME\n"
                         "  70000  app       report       idle in transaction  600s  "
                         "terminated\n"
                         "  65365  app       api          idle in transaction  312s  "
                         "will terminate\n"));
    CHECK(text.find("psql         idle in transaction  100s  protected: protected user "
                    "postgres\n") != std::string::npos);
    const std::string json = render_termination_json(targets, false);
    CHECK(
        json.starts_with("{\"dry_run\":false,\"sessions\":[{\"outcome\":\"terminated\","
                         "\"reason\":\"\",\"session\":{\"pid\":70000,"));
  }
}

}  // namespace
}  // namespace lockwatch
