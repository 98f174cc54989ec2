#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "core/chain_tree.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> tree(const ActivitySnapshot& snapshot, const TreeOptions& options = {}) {
  const Observation obs(snapshot);
  return lines_of(render_chain_tree(obs, options));
}

TEST_SUITE("chain tree") {
  TEST_CASE("the seed incident reads as one chain: each waiter under the one it queues behind") {
    // 77970 waits on 65365 and 79250, 79337 on 79250 and 77970: the nearer blocker implies
    // the farther one, so the queue is drawn as the chain operators think of.
    const std::vector<std::string> expected = {
        "65365  api        idle in transaction  312s  SELECT * FROM accounts WHERE id = ? FOR "
        "UPDATE",
        "└─ 79250  migrate    waiting 45s  ALTER TABLE accounts ADD COLUMN note text",
        "   └─ 77970  api        waiting 30s  UPDATE accounts SET balance = balance + ? WHERE id = "
        "?",
        "      └─ 79337  reporting  waiting 12s  SELECT count(*) FROM accounts",
    };
    CHECK(tree(seed_incident()) == expected);
  }

  TEST_CASE("nothing is drawn when nobody waits") {
    CHECK(
        tree(SnapshotBuilder().at(k_now).idle_in_tx(1, "api", 5).active(2, "job").build()).empty());
  }

  TEST_CASE("siblings are ordered longest wait first and joined with ├─ and │") {
    const auto snapshot = SnapshotBuilder()
                              .at(k_now)
                              .idle_in_tx(10, "api", 60)
                              .waiting(11, "a", {10}, 5)
                              .waiting(12, "b", {10}, 9)
                              .waiting(13, "c", {12}, 2)
                              .build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].starts_with("10  api  idle in transaction  60s"));
    CHECK(lines[1].starts_with("├─ 12  b    waiting 9s"));
    CHECK(lines[2].starts_with("│  └─ 13  c    waiting 2s"));
    CHECK(lines[3].starts_with("└─ 11  a    waiting 5s"));
  }

  TEST_CASE("a waiter held by two independent blockers appears under each, marked") {
    const auto snapshot = SnapshotBuilder()
                              .at(k_now)
                              .idle_in_tx(100, "a", 60)
                              .idle_in_tx(200, "b", 50)
                              .waiting(300, "w", {100, 200}, 10)
                              .waiting(400, "x", {300}, 5)
                              .build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].starts_with("100  a  idle in transaction"));
    CHECK(lines[1].starts_with("└─ 300  w  waiting 10s  (also blocked by 200)  UPDATE"));
    CHECK(lines[2].starts_with("   └─ 400  x  waiting 5s  UPDATE"));
    CHECK(lines[3].starts_with("200  b  idle in transaction"));
    // Its waiters are drawn once, under the first blocker.
    CHECK(lines[4].starts_with(
        "└─ 300  w  waiting 10s  (also blocked by 100)  (its waiters are shown above)"));
  }

  TEST_CASE("a deadlock cycle is drawn once around and never loops") {
    const auto snapshot = SnapshotBuilder()
                              .at(k_now)
                              .waiting(10, "a", {20}, 5)
                              .waiting(20, "b", {10}, 4)
                              .waiting(30, "c", {10}, 3)
                              .build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].starts_with("10  a  waiting 5s  (deadlock cycle with 20)"));
    CHECK(lines[1].starts_with("├─ 20  b  waiting 4s"));
    CHECK(lines[2].starts_with("│  └─ 10  a  waiting 5s  (its waiters are shown above)"));
    CHECK(lines[3].starts_with("└─ 30  c  waiting 3s"));
  }

  TEST_CASE("a lock held by a prepared transaction shows pid 0 as one") {
    const auto snapshot = SnapshotBuilder().at(k_now).waiting(500, "m", {0}, 7).build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "0    -  prepared transaction");
    CHECK(lines[1].starts_with("└─ 500  m  waiting 7s"));
  }

  TEST_CASE("a blocker that already ended is drawn as gone") {
    const auto snapshot = SnapshotBuilder().at(k_now).waiting(500, "m", {499}, 7).build();
    CHECK(tree(snapshot).front() == "499  -  unknown (gone)");
  }

  TEST_CASE("parallel workers are folded onto their leader") {
    const auto snapshot = SnapshotBuilder()
                              .at(k_now)
                              .idle_in_tx(1, "api", 60)
                              .waiting(2, "report", {1}, 8)
                              .waiting(3, "report", {1}, 8)
                              .worker_of(2)
                              .build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].starts_with("└─ 2  report  waiting 8s"));
  }

  TEST_CASE("with a focus, only the chain in front of that backend is drawn, marked") {
    const std::vector<std::string> lines =
        tree(seed_incident(), TreeOptions{77970, "this DDL", 60});
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].starts_with("65365  api"));
    CHECK(lines[1].starts_with("└─ 79250  migrate"));
    CHECK(lines[2].starts_with("   └─ 77970  api      waiting 30s  (this DDL)  UPDATE"));
  }

  TEST_CASE("long queries are cut, with the cut marked") {
    const std::string query(200, 'x');
    const auto snapshot = SnapshotBuilder()
                              .at(k_now)
                              .idle_in_tx(1, "api", 60)
                              .waiting(2, "m", {1}, 8)
                              .query(query)
                              .build();
    const std::string line = tree(snapshot, TreeOptions{std::nullopt, "", 20}).back();
    CHECK(line.ends_with("  " + std::string(20, 'x') + "..."));
  }

  TEST_CASE("a queue thousands deep is drawn without recursion, with bounded indentation") {
    SnapshotBuilder builder;
    builder.at(k_now).idle_in_tx(1, "api", 600);
    for (int pid = 2; pid <= 3000; ++pid) builder.waiting(pid, "q", {pid - 1}, 5);
    const std::vector<std::string> lines = tree(builder.build());
    REQUIRE(lines.size() == 3000);
    const auto longest = std::max_element(lines.begin(), lines.end(),
                                          [](auto& a, auto& b) { return a.size() < b.size(); });
    CHECK(longest->size() < 250);
    CHECK(lines.back().find("3000  q") != std::string::npos);
  }

  TEST_CASE("a queue of conflicting requests, each blocked by all ahead of it, is one chain") {
    // What pg_blocking_pids() reports for hundreds of UPDATEs of one hot row.
    SnapshotBuilder builder;
    builder.at(k_now).idle_in_tx(1, "api", 600);
    std::vector<int> ahead = {1};
    for (int pid = 2; pid <= 600; ++pid) {
      builder.waiting(pid, "q", ahead, 5);
      ahead.push_back(pid);
    }
    const std::vector<std::string> lines = tree(builder.build());
    REQUIRE(lines.size() == 600);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      CAPTURE(lines[i]);
      CHECK(lines[i].find("└─ " + std::to_string(i + 1) + " ") != std::string::npos);
      CHECK(lines[i].find("also blocked by") == std::string::npos);
    }
  }

  TEST_CASE("roots_in_front_of names the chain roots holding a backend up") {
    const Observation obs(seed_incident());
    CHECK(roots_in_front_of(obs, 79337) == std::vector<int>{65365});
    CHECK(roots_in_front_of(obs, 65365).empty());
  }
}

}  // namespace
}  // namespace lockwatch
