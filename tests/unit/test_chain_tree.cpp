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

std::vector<std::string> tree(const PollSnapshots& snapshot, const TreeOptions& options = {}) {
  const Observation obs(snapshot);
  return lines_of(render_chain_tree(obs, options));
}

TEST_SUITE("chain tree") {
  TEST_CASE("the seed incident reads as one chain, each waiter saying what it waits for") {
    // 77970 waits on 65365 (hard) and 79250 (queued ahead), 79337 on both ALTERs: the
    // nearer blocker implies the farther one, so the queue is drawn as the chain operators
    // think of, and each line says which lock is wanted and how the line above holds it.
    const std::vector<std::string> expected = {
        "65365  api        idle in transaction  312s  SELECT * FROM accounts WHERE id = ? FOR "
        "UPDATE",
        "└─ 79250  migrate    waiting 45s for AccessExclusiveLock on relation public.accounts, "
        "held as AccessShareLock by 65365  ALTER TABLE accounts ADD COLUMN note text",
        "   └─ 77970  migrate2   waiting 30s for AccessExclusiveLock on relation "
        "public.accounts, queued behind 79250's AccessExclusiveLock  ALTER TABLE accounts ADD "
        "COLUMN note2 text",
        "      └─ 79337  reporting  waiting 12s for AccessShareLock on relation public.accounts, "
        "queued behind 77970's AccessExclusiveLock  SELECT count(*) FROM accounts",
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
    CHECK(
        lines[1].starts_with("└─ 300  w  waiting 10s for ExclusiveLock on advisory lock 300, "
                             "held as ShareLock by 100  (also blocked by 200)  UPDATE"));
    CHECK(
        lines[2].starts_with("   └─ 400  x  waiting 5s for ExclusiveLock on advisory lock "
                             "400, held as ShareLock by 300  UPDATE"));
    CHECK(lines[3].starts_with("200  b  idle in transaction"));
    // Its waiters are drawn once, under the first blocker.
    CHECK(
        lines[4].starts_with("└─ 300  w  waiting 10s for ExclusiveLock on advisory lock 300, "
                             "held as ShareLock by 200  (also blocked by 100)  (its waiters are "
                             "shown above)"));
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
    CHECK(lines[0].starts_with(
        "10  a  waiting 5s for ExclusiveLock on advisory lock 10  (deadlock cycle with 20)"));
    CHECK(lines[1].starts_with("├─ 20  b  waiting 4s"));
    CHECK(
        lines[2].starts_with("│  └─ 10  a  waiting 5s for ExclusiveLock on advisory lock 10, "
                             "held as ShareLock by 20  (its waiters are shown above)"));
    CHECK(lines[3].starts_with("└─ 30  c  waiting 3s"));
  }

  TEST_CASE("a lock held by a prepared transaction names it by its gid") {
    const auto snapshot = SnapshotBuilder().at(k_now).waiting(500, "m", {0}, 7).build();
    const std::vector<std::string> lines = tree(snapshot);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "prepared  'prepared-0'  prepared transaction  600s");
    CHECK(
        lines[1].starts_with("└─ 500       m             waiting 7s for ExclusiveLock on "
                             "advisory lock 500, held as ShareLock by prepared transaction "
                             "'prepared-0'"));
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
    CHECK(
        lines[2].starts_with("   └─ 77970  migrate2  waiting 30s for AccessExclusiveLock on "
                             "relation public.accounts, queued behind 79250's "
                             "AccessExclusiveLock  (this DDL)  ALTER"));
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

  TEST_CASE("a hot row's queue of UPDATEs reads as one chain behind the transaction") {
    // 1 updated the row and went idle; 2 holds the tuple lock and waits for 1's
    // transaction; 3..600 queue for the tuple lock behind 2, in arrival order.
    SnapshotBuilder b;
    b.at(k_now).idle_in_tx(1, "api", 600).holds(xact_target(900), LockMode::exclusive);
    b.active(2, "q", 60)
        .holds(tuple_target(k_accounts_oid, 0, 1), LockMode::exclusive)
        .wants(xact_target(900), LockMode::share, 60);
    for (int pid = 3; pid <= 600; ++pid) {
      b.active(pid, "q", 50)
          .wants_at(tuple_target(k_accounts_oid, 0, 1), LockMode::exclusive,
                    k_now - 50 * k_micros_per_second + pid);
    }
    const std::vector<std::string> lines = tree(b.build());
    REQUIRE(lines.size() == 600);
    CHECK(
        lines[1].starts_with("└─ 2    q    waiting 60s for ShareLock on transaction 900, held "
                             "as ExclusiveLock by 1"));
    CHECK(
        lines[2].starts_with("   └─ 3    q    waiting 49s for ExclusiveLock on tuple (0,1) of "
                             "public.accounts, held as ExclusiveLock by 2"));
    for (std::size_t i = 3; i < lines.size(); ++i) {
      CAPTURE(lines[i]);
      CHECK(lines[i].find("└─ " + std::to_string(i + 1) + " ") != std::string::npos);
      CHECK(lines[i].find("queued behind " + std::to_string(i) + "'s ExclusiveLock") !=
            std::string::npos);
      CHECK(lines[i].find("also blocked by") == std::string::npos);
    }
  }

  TEST_CASE("a pile-up shows the nearest waiters per root and sums up the rest") {
    SnapshotBuilder b;
    b.at(k_now).idle_in_tx(1, "api", 600).holds(accounts(), LockMode::access_share);
    b.active(2, "migrate", 60).wants(accounts(), LockMode::access_exclusive, 60);
    for (int pid = 3; pid <= 1002; ++pid) {
      b.active(pid, "api", 30).wants(accounts(), LockMode::access_share, 30);
    }
    TreeOptions options;
    options.max_waiters = 5;
    const std::vector<std::string> lines = tree(b.build(), options);
    REQUIRE(lines.size() == 7);
    CHECK(lines[1].starts_with("└─ 2"));
    CHECK(lines[6] ==
          "└─ ... and 996 more held up: 996 waiting for AccessShareLock on relation "
          "public.accounts (longest 30s)");
  }

  TEST_CASE("past max_roots, the other roots are counted in one line") {
    SnapshotBuilder b;
    for (int root = 1; root <= 5; ++root) {
      b.idle_in_tx(root * 10, "api", 60).waiting(root * 10 + 1, "api", {root * 10}, 5);
    }
    TreeOptions options;
    options.max_roots = 2;
    const std::vector<std::string> lines = tree(b.build(), options);
    REQUIRE(lines.size() == 5);
    CHECK(lines[4] == "... and 3 more root(s) holding up 3 session(s)");
  }

  TEST_CASE("roots_in_front_of names the chain roots holding a backend up") {
    const Observation obs(seed_incident());
    CHECK(roots_in_front_of(obs, 79337) == std::vector<int>{65365});
    CHECK(roots_in_front_of(obs, 65365).empty());
  }
}

}  // namespace
}  // namespace lockwatch
