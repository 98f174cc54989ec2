#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/preflight_report.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

PreflightRequest wanting(LockMode mode, Duration max_xact_age = 30s) {
  PreflightRequest r;
  r.tables = {"accounts"};
  r.lock_mode = mode;
  r.max_xact_age = max_xact_age;
  return r;
}

// A reader idle in its transaction, a migration queued behind it, a writer elsewhere.
const std::vector<RelationLock> k_locks = {
    {65365, "accounts", "AccessShareLock", true},
    {70000, "accounts", "RowExclusiveLock", true},
    {79250, "accounts", "AccessExclusiveLock", false},
    {0, "accounts", "RowExclusiveLock", true},
    {71000, "accounts", "SIReadLock", true},
};

PollSnapshots server() {
  return SnapshotBuilder()
      .at(k_now)
      .idle_in_tx(65365, "api", 12)
      .active(70000, "writer", 1)
      .waiting(79250, "migrate", {65365}, 9)
      .idle_in_tx(80000, "old", 100)
      .xact_age(100)
      .idle_in_tx(81000, "elsewhere", 200)
      .xact_age(200)
      .database("other")
      .build();
}

std::vector<int> pids(const std::vector<TableLock>& locks) {
  std::vector<int> out;
  for (const TableLock& l : locks) out.push_back(l.lock.pid);
  return out;
}

TEST_SUITE("preflight report") {
  const Observation obs(server());

  TEST_CASE("ACCESS EXCLUSIVE conflicts with every holder and every queued request") {
    const auto r = assess_preflight(wanting(LockMode::access_exclusive), obs, k_locks, "shop");
    CHECK(pids(r.holders) == std::vector<int>{65365, 70000, 0});
    CHECK(pids(r.queued) == std::vector<int>{79250});
    REQUIRE(r.old_transactions.size() == 1);
    CHECK(r.old_transactions[0].pid == 80000);  // 81000 is in another database
    CHECK_FALSE(r.clear());
  }

  TEST_CASE("a weaker mode only minds the locks that conflict with it") {
    const auto share = assess_preflight(wanting(LockMode::share, 0s), obs, k_locks, "shop");
    CHECK(pids(share.holders) == std::vector<int>{70000, 0});
    CHECK(pids(share.queued) == std::vector<int>{79250});
    const auto reader = assess_preflight(wanting(LockMode::access_share, 0s), obs,
                                         {k_locks[0], k_locks[1]}, "shop");
    CHECK(reader.clear());
  }

  TEST_CASE("holders carry their session; a prepared transaction has none") {
    const auto r = assess_preflight(wanting(LockMode::access_exclusive), obs, k_locks, "shop");
    REQUIRE(r.holders[0].session.has_value());
    CHECK(r.holders[0].session->application_name == "api");
    CHECK_FALSE(r.holders[2].session.has_value());
    const std::string text = render_preflight_text(r);
    CHECK(
        text.starts_with("preflight: ACCESS EXCLUSIVE on accounts: NOT CLEAR\n"
                         "holding a conflicting lock (3):\n"));
    CHECK(text.find("  0      accounts  RowExclusiveLock  -     -            prepared "
                    "transaction\n") != std::string::npos);
    CHECK(text.find("queued for a conflicting lock (1):\n") != std::string::npos);
    CHECK(text.find("transactions older than 30s (1):\n") != std::string::npos);
  }

  TEST_CASE("clear when nothing conflicts and no transaction is too old") {
    const auto r = assess_preflight(wanting(LockMode::access_exclusive, 5min), obs, {}, "shop");
    CHECK(r.clear());
    CHECK(render_preflight_text(r) ==
          "preflight: ACCESS EXCLUSIVE on accounts: clear (no conflicting lock, nothing queued, "
          "no transaction older than 5m)\n");
    CHECK(render_preflight_json(r) ==
          "{\"clear\":true,\"lock_mode\":\"ACCESS EXCLUSIVE\",\"tables\":[\"accounts\"],"
          "\"max_xact_age_seconds\":300.000,\"holders\":[],\"queued\":[],"
          "\"old_transactions\":[]}");
  }
}

}  // namespace
}  // namespace lockwatch
