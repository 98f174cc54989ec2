#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/snapshot_collector.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Lines = std::vector<std::string>;
using Names = std::set<std::string>;

constexpr const char* k_version = "0.1.0";

WatchStatus status_of(PollSnapshots snapshot, int top_roots = 5) {
  WatchStatus status;
  status.observation = std::make_shared<const Observation>(std::move(snapshot));
  status.up = true;
  status.server_version = "16.2";
  status.last_success_unix_seconds = 1'700'000'000;
  status.top_roots = top_roots;
  return status;
}

std::string exposition(const WatchStatus& status) {
  return prometheus::TextSerializer().Serialize(collect_status(status, k_version));
}

// The sample lines of the exposition (no # HELP / # TYPE).
Lines samples(const std::string& text) {
  Lines out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.front() != '#') out.push_back(line);
  }
  return out;
}

// The sample lines of one metric.
Lines series(const std::string& text, const std::string& name) {
  Lines out;
  for (const std::string& line : samples(text)) {
    if (line.starts_with(name + "{") || line.starts_with(name + " ")) out.push_back(line);
  }
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  const Lines all = samples(text);
  return std::find(all.begin(), all.end(), line) != all.end();
}

Names family_names(const WatchStatus& status) {
  Names names;
  for (const auto& family : collect_status(status, k_version)) names.insert(family.name);
  return names;
}

const Names k_always = {"pg_lockwatch_up", "pg_lockwatch_via_pooler",
                        "pg_lockwatch_last_successful_poll_timestamp_seconds",
                        "pg_lockwatch_missing_privilege", "pg_lockwatch_build_info"};

// `count` idle-in-transaction roots, root i holding up i % 3 + 1 waiters.
PollSnapshots many_roots(int count) {
  SnapshotBuilder b;
  int next_waiter = 100'000;
  for (int i = 0; i < count; ++i) {
    const int root = 1000 + i;
    b.idle_in_tx(root, "api", 60);
    for (int w = 0; w <= i % 3; ++w) b.waiting(next_waiter++, "api", {root}, 5);
  }
  return b.build();
}

TEST_SUITE("metrics") {
  TEST_CASE("the seed incident is exported as gauges") {
    const std::string text = exposition(status_of(seed_incident()));
    CAPTURE(text);

    const Lines expected = {
        "pg_lockwatch_up 1",
        "pg_lockwatch_via_pooler 0",
        "pg_lockwatch_build_info{version=\"0.1.0\",server_version=\"16.2\"} 1",
        "pg_lockwatch_lock_waiting_backends 3",
        "pg_lockwatch_blocked_backends 3",
        "pg_lockwatch_root_blockers 1",
        "pg_lockwatch_max_chain_length 4",
        "pg_lockwatch_longest_lock_wait_seconds 45",
        "pg_lockwatch_oldest_transaction_seconds 313",
        "pg_lockwatch_oldest_idle_in_transaction_seconds 312",
    };
    for (const std::string& line : expected) {
      CAPTURE(line);
      CHECK(has_line(text, line));
    }
  }

  TEST_CASE("client backends are counted under all six states, zeros included") {
    const std::string text = exposition(status_of(seed_incident()));
    CAPTURE(text);

    CHECK(series(text, "pg_lockwatch_backends") ==
          Lines{
              "pg_lockwatch_backends{state=\"active\"} 3",
              "pg_lockwatch_backends{state=\"disabled\"} 0",
              "pg_lockwatch_backends{state=\"fastpath_function_call\"} 0",
              "pg_lockwatch_backends{state=\"idle\"} 0",
              "pg_lockwatch_backends{state=\"idle_in_transaction\"} 1",
              "pg_lockwatch_backends{state=\"idle_in_transaction_aborted\"} 0",
          });
  }

  TEST_CASE("only client backends count toward the states and transaction ages") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .in_state(1, "idle")
                                       .in_state(2, "idle in transaction (aborted)")
                                       .in_state(3, "fastpath function call")
                                       .in_state(4, "active")
                                       .worker_of(9)
                                       .in_state(5, "")
                                       .backend_type("autovacuum worker")
                                       .xact_age(9999)
                                       .in_state(6, "idle")
                                       .backend_type("walsender")
                                       .build();
    const std::string text = exposition(status_of(snapshot));
    CAPTURE(text);

    CHECK(has_line(text, "pg_lockwatch_backends{state=\"idle\"} 1"));
    CHECK(has_line(text, "pg_lockwatch_backends{state=\"idle_in_transaction_aborted\"} 1"));
    CHECK(has_line(text, "pg_lockwatch_backends{state=\"fastpath_function_call\"} 1"));
    CHECK(has_line(text, "pg_lockwatch_backends{state=\"active\"} 0"));
    CHECK(series(text, "pg_lockwatch_backends").size() == 6);
    CHECK(has_line(text, "pg_lockwatch_oldest_transaction_seconds 1"));
  }

  TEST_CASE("the root blocker series names the root by rank and pid") {
    const std::string text = exposition(status_of(seed_incident()));
    CAPTURE(text);

    CHECK(series(text, "pg_lockwatch_root_blocker_blocked_backends") ==
          Lines{"pg_lockwatch_root_blocker_blocked_backends{rank=\"1\",pid=\"65365\","
                "datname=\"shop\",usename=\"app\",application_name=\"api\","
                "state=\"idle in transaction\"} 3"});
  }

  TEST_CASE("roots that are not backends are labelled prepared or unknown") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .waiting(300, "api", {0}, 90)
                                       .waiting(301, "api", {300}, 10)
                                       .waiting(400, "api", {4242}, 9)
                                       .build();
    const std::string text = exposition(status_of(snapshot));
    CAPTURE(text);

    CHECK(series(text, "pg_lockwatch_root_blocker_blocked_backends") ==
          Lines{
              "pg_lockwatch_root_blocker_blocked_backends{rank=\"1\",pid=\"0\",datname=\"shop\","
              "usename=\"app\",application_name=\"\",state=\"prepared\"} 2",
              "pg_lockwatch_root_blocker_blocked_backends{rank=\"2\",pid=\"4242\",datname=\"\","
              "usename=\"\",application_name=\"\",state=\"unknown\"} 1",
          });
  }

  TEST_CASE("a failed poll exports only liveness and build information") {
    SUBCASE("before any successful poll") {
      WatchStatus status;
      status.up = false;
      CHECK(family_names(status) == k_always);
      const std::string text = exposition(status);
      CAPTURE(text);
      CHECK(has_line(text, "pg_lockwatch_up 0"));
      CHECK(has_line(text, "pg_lockwatch_last_successful_poll_timestamp_seconds 0"));
    }
    SUBCASE("after a successful poll: the stale observation is not exported") {
      WatchStatus status = status_of(seed_incident());
      status.up = false;
      CHECK(family_names(status) == k_always);
      const std::string text = exposition(status);
      CAPTURE(text);
      CHECK(has_line(text, "pg_lockwatch_up 0"));
      CHECK(has_line(text, "pg_lockwatch_last_successful_poll_timestamp_seconds 1700000000"));
      CHECK(series(text, "pg_lockwatch_max_chain_length").empty());
      CHECK(series(text, "pg_lockwatch_root_blocker_blocked_backends").empty());
    }
  }

  TEST_CASE("a successful poll exports the analysis families") {
    const Names names = family_names(status_of(seed_incident()));
    CHECK(names.size() == k_always.size() + 13);
    for (const char* name :
         {"pg_lockwatch_backends", "pg_lockwatch_lock_waiting_backends",
          "pg_lockwatch_lock_waiting_backends_by_type",
          "pg_lockwatch_lock_waiting_backends_by_mode", "pg_lockwatch_lock_snapshot_age_seconds",
          "pg_lockwatch_blocked_backends", "pg_lockwatch_root_blockers",
          "pg_lockwatch_max_chain_length", "pg_lockwatch_longest_lock_wait_seconds",
          "pg_lockwatch_oldest_transaction_seconds",
          "pg_lockwatch_oldest_idle_in_transaction_seconds",
          "pg_lockwatch_root_blocker_blocked_backends", "pg_lockwatch_ghost_lock_holders"}) {
      CAPTURE(name);
      CHECK(names.count(name) == 1);
    }
  }

  TEST_CASE("pooler_up has one series per configured pooler, and ghost locks are counted") {
    PollSnapshots snapshot = seed_incident();
    auto obs = std::make_shared<Observation>(std::move(snapshot));
    PoolerLink ghost;
    ghost.pooler = "edge";
    obs->set_pooler_links(PoolerLinks{{65365, ghost}});
    WatchStatus status = status_of(seed_incident());
    status.observation = obs;
    status.poolers = {PoolerStatus{"edge", true, ""}, PoolerStatus{"batch", false, "refused"}};
    const std::string text = exposition(status);
    CAPTURE(text);
    CHECK(has_line(text, "pg_lockwatch_ghost_lock_holders 1"));
    CHECK(series(text, "pg_lockwatch_pooler_up") ==
          Lines{"pg_lockwatch_pooler_up{pooler=\"edge\"} 1",
                "pg_lockwatch_pooler_up{pooler=\"batch\"} 0"});
    CHECK(has_line(exposition(status_of(seed_incident())), "pg_lockwatch_ghost_lock_holders 0"));
  }

  TEST_CASE("lock waits are counted by type and by mode, every label value always present") {
    const std::string text = exposition(status_of(seed_incident()));
    CAPTURE(text);
    const Lines by_type = series(text, "pg_lockwatch_lock_waiting_backends_by_type");
    CHECK(by_type.size() == 13);
    CHECK(has_line(text, "pg_lockwatch_lock_waiting_backends_by_type{locktype=\"relation\"} 3"));
    CHECK(has_line(text, "pg_lockwatch_lock_waiting_backends_by_type{locktype=\"tuple\"} 0"));
    CHECK(has_line(text, "pg_lockwatch_lock_waiting_backends_by_type{locktype=\"other\"} 0"));
    const Lines by_mode = series(text, "pg_lockwatch_lock_waiting_backends_by_mode");
    CHECK(by_mode.size() == 8);
    CHECK(has_line(text,
                   "pg_lockwatch_lock_waiting_backends_by_mode{mode=\"AccessExclusiveLock\"} 2"));
    CHECK(has_line(text, "pg_lockwatch_lock_waiting_backends_by_mode{mode=\"AccessShareLock\"} 1"));
  }

  TEST_CASE("a missing privilege is exported whatever else happened") {
    WatchStatus status;
    status.problems.push_back({"pg_read_all_stats", "role x cannot see"});
    const std::string text = exposition(status);
    CHECK(has_line(text, "pg_lockwatch_missing_privilege{privilege=\"pg_read_all_stats\"} 1"));
    CHECK(has_line(text, "pg_lockwatch_missing_privilege{privilege=\"pg_signal_backend\"} 0"));
  }

  TEST_CASE("the via_pooler gauge follows the status") {
    WatchStatus status = status_of(seed_incident());
    status.via_pooler = true;
    CHECK(has_line(exposition(status), "pg_lockwatch_via_pooler 1"));
  }

  TEST_CASE("only the top N roots get a series, however many roots there are") {
    struct Case {
      int top_roots;
      std::size_t expected;
    };
    const Case cases[] = {{5, 5}, {1, 1}, {0, 0}, {100, 100}};
    const auto snapshot = many_roots(500);
    for (const Case& c : cases) {
      CAPTURE(c.top_roots);
      const std::string text = exposition(status_of(snapshot, c.top_roots));
      const Lines roots = series(text, "pg_lockwatch_root_blocker_blocked_backends");
      REQUIRE(roots.size() == c.expected);
      CHECK(has_line(text, "pg_lockwatch_root_blockers 500"));
      for (std::size_t i = 0; i < roots.size(); ++i) {
        CAPTURE(roots[i]);
        CHECK(roots[i].find("{rank=\"" + std::to_string(i + 1) + "\",") != std::string::npos);
        CHECK(roots[i].ends_with("} 3"));  // the top roots are those holding up most
      }
    }
  }

  TEST_CASE("long label values from clients are truncated") {
    const std::string long_name(1000, 'a');
    PollSnapshots snapshot =
        SnapshotBuilder().idle_in_tx(1, long_name, 60).waiting(2, "api", {1}, 5).build();
    WatchStatus status = status_of(std::move(snapshot));
    status.server_version = std::string(300, '9');
    const std::string text = exposition(status);

    const Lines roots = series(text, "pg_lockwatch_root_blocker_blocked_backends");
    REQUIRE(roots.size() == 1);
    CHECK(roots.front().find("application_name=\"" + std::string(64, 'a') + "\"") !=
          std::string::npos);
    CHECK(roots.front().find(std::string(65, 'a')) == std::string::npos);
    CHECK(roots.front().size() < 300);
    CHECK(text.find("server_version=\"" + std::string(64, '9') + "\"") != std::string::npos);
    CHECK(text.find(std::string(65, '9')) == std::string::npos);
  }
}

}  // namespace
}  // namespace lockwatch
