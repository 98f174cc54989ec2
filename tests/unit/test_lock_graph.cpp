#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "core/observation.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Pids = std::vector<int>;

LockAnalysis analyse(const PollSnapshots& snapshot) {
  return Observation(snapshot).locks();
}

Pids sorted(Pids pids) {
  std::sort(pids.begin(), pids.end());
  return pids;
}

Pids root_pids(const LockAnalysis& analysis) {
  Pids pids;
  for (const RootBlocker& root : analysis.roots) pids.push_back(root.pid);
  return pids;
}

TEST_SUITE("lock graph") {
  TEST_CASE("the seed incident has one root holding up three backends along a chain of four") {
    const LockAnalysis a = analyse(seed_incident());

    CHECK(a.waiting == 3);
    CHECK(a.blocked == 3);
    CHECK(a.max_chain_length == 4);
    CHECK(a.longest_wait_seconds == doctest::Approx(45));
    REQUIRE(a.roots.size() == 1);
    const RootBlocker& root = a.roots.front();
    CHECK(root.pid == 65365);
    CHECK(root.cycle.empty());
    CHECK(root.blocked_total == 3);
    CHECK(root.max_chain_length == 4);
    CHECK(root.longest_chain == Pids{65365, 79250, 77970, 79337});
    CHECK(sorted(root.waiters) == Pids{77970, 79250, 79337});
    CHECK(root.longest_wait_seconds == doctest::Approx(45));
  }

  TEST_CASE("waiters are listed nearest first") {
    const LockAnalysis a = analyse(seed_incident());
    REQUIRE(a.roots.size() == 1);
    const Pids& waiters = a.roots.front().waiters;
    REQUIRE(waiters.size() == 3);
    // 79250 and 77970 wait on the root directly; 79337 only through them.
    CHECK(sorted({waiters[0], waiters[1]}) == Pids{77970, 79250});
    CHECK(waiters[2] == 79337);
  }

  TEST_CASE("a root with many direct waiters fans out into chains of two") {
    SnapshotBuilder b;
    b.idle_in_tx(100, "api", 60);
    for (int pid = 101; pid <= 110; ++pid) b.waiting(pid, "api", {100}, 5);
    const LockAnalysis a = analyse(b.build());

    CHECK(a.waiting == 10);
    CHECK(a.blocked == 10);
    CHECK(a.max_chain_length == 2);
    REQUIRE(a.roots.size() == 1);
    const RootBlocker& root = a.roots.front();
    CHECK(root.pid == 100);
    CHECK(root.blocked_total == 10);
    CHECK(root.max_chain_length == 2);
    REQUIRE(root.longest_chain.size() == 2);
    CHECK(root.longest_chain.front() == 100);
    CHECK(root.longest_chain.back() >= 101);
    CHECK(root.longest_chain.back() <= 110);
    CHECK(sorted(root.waiters) == Pids{101, 102, 103, 104, 105, 106, 107, 108, 109, 110});
  }

  TEST_CASE("independent roots are ranked by backends held up, then chain length, then pid") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .idle_in_tx(10, "a", 60)  // holds up 1
                                       .waiting(11, "a", {10}, 1)
                                       .idle_in_tx(20, "b", 60)  // holds up 3
                                       .waiting(21, "b", {20}, 1)
                                       .waiting(22, "b", {20}, 1)
                                       .waiting(23, "b", {20}, 1)
                                       .idle_in_tx(30, "c", 60)  // holds up 2, chain of 3
                                       .waiting(31, "c", {30}, 1)
                                       .waiting(32, "c", {31}, 1)
                                       .idle_in_tx(40, "d", 60)  // holds up 2, chain of 2
                                       .waiting(41, "d", {40}, 1)
                                       .waiting(42, "d", {40}, 1)
                                       .idle_in_tx(5, "e", 60)  // holds up 1, like 10
                                       .waiting(6, "e", {5}, 1)
                                       .build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(root_pids(a) == Pids{20, 30, 40, 5, 10});
    CHECK(a.max_chain_length == 3);
    CHECK(a.blocked == 9);
  }

  TEST_CASE("a waiter blocked by several backends counts once and under each root") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .idle_in_tx(1, "api", 60)
                                       .idle_in_tx(2, "api", 60)
                                       .waiting(3, "migrate", {1, 2}, 10)
                                       .build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(a.waiting == 1);
    CHECK(a.blocked == 1);
    CHECK(root_pids(a) == Pids{1, 2});
    for (const RootBlocker& root : a.roots) {
      CAPTURE(root.pid);
      CHECK(root.blocked_total == 1);
      CHECK(root.waiters == Pids{3});
      CHECK(root.longest_chain == Pids{root.pid, 3});
    }
  }

  TEST_CASE("a blocker repeated in blocked_by is one edge") {
    const PollSnapshots snapshot =
        SnapshotBuilder().idle_in_tx(1, "api", 60).waiting(2, "api", {1, 1, 1}, 10).build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(a.blocked == 1);
    REQUIRE(a.roots.size() == 1);
    CHECK(a.roots.front().blocked_total == 1);
    CHECK(a.roots.front().waiters == Pids{2});
    CHECK(a.roots.front().longest_chain == Pids{1, 2});
  }

  TEST_CASE("a waiting parallel worker is folded onto its leader") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .idle_in_tx(100, "api", 60)
                                       .waiting(200, "report", {100}, 20)
                                       .waiting(201, "report", {100, 100}, 20)
                                       .worker_of(200)
                                       .waiting(202, "report", {100}, 20)
                                       .worker_of(200)
                                       .build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(a.blocked == 1);
    CHECK(a.max_chain_length == 2);
    REQUIRE(a.roots.size() == 1);
    const RootBlocker& root = a.roots.front();
    CHECK(root.pid == 100);
    CHECK(root.blocked_total == 1);
    CHECK(root.waiters == Pids{200});
    CHECK(root.longest_chain == Pids{100, 200});
  }

  TEST_CASE("a parallel worker waiting on its own leader is no edge") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .active(200, "report")
                                       .waiting(201, "report", {200}, 3)
                                       .worker_of(200)
                                       .build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(a.blocked == 0);
    CHECK(a.roots.empty());
    CHECK(a.max_chain_length == 0);
  }

  TEST_CASE("a prepared transaction is a root although no backend holds its locks") {
    const PollSnapshots snapshot =
        SnapshotBuilder().waiting(300, "api", {0}, 90).waiting(301, "api", {300}, 30).build();
    const LockAnalysis a = analyse(snapshot);

    REQUIRE(a.roots.size() == 1);
    const RootBlocker& root = a.roots.front();
    CHECK(is_prepared_session(root.pid));
    CHECK(root.blocked_total == 2);
    CHECK(root.longest_chain == Pids{root.pid, 300, 301});
    CHECK(root.longest_wait_seconds == doctest::Approx(90));
  }

  TEST_CASE("a blocker that vanished from the snapshot is still named as the root") {
    const PollSnapshots snapshot = SnapshotBuilder().waiting(500, "api", {4242}, 7).build();
    const LockAnalysis a = analyse(snapshot);

    REQUIRE(a.roots.size() == 1);
    CHECK(a.roots.front().pid == 4242);
    CHECK(a.roots.front().blocked_total == 1);
    CHECK(a.roots.front().longest_chain == Pids{4242, 500});
    CHECK(a.roots.front().longest_wait_seconds == doctest::Approx(7));
  }

  TEST_CASE("a deadlock cycle is one root listing every member") {
    SUBCASE("two backends waiting on each other, a third waiting on the cycle") {
      const PollSnapshots snapshot = SnapshotBuilder()
                                         .waiting(11, "api", {10}, 2)
                                         .waiting(10, "api", {11}, 2)
                                         .waiting(12, "api", {10}, 1)
                                         .build();
      const LockAnalysis a = analyse(snapshot);

      CHECK(a.waiting == 3);
      CHECK(a.blocked == 3);
      REQUIRE(a.roots.size() == 1);
      const RootBlocker& root = a.roots.front();
      CHECK(root.pid == 10);
      CHECK(root.cycle == Pids{10, 11});
      CHECK(root.max_chain_length == 3);
      CHECK(root.longest_chain == Pids{10, 11, 12});
      CHECK(root.blocked_total == 2);
      CHECK(sorted(root.waiters) == Pids{11, 12});
      CHECK(a.max_chain_length == 3);
    }
    SUBCASE("three backends in a ring with a chain of two hanging off a member") {
      const PollSnapshots snapshot = SnapshotBuilder()
                                         .waiting(22, "api", {21}, 2)
                                         .waiting(23, "api", {22}, 2)
                                         .waiting(21, "api", {23}, 2)
                                         .waiting(24, "api", {22}, 1)
                                         .waiting(25, "api", {24}, 1)
                                         .build();
      const LockAnalysis a = analyse(snapshot);

      REQUIRE(a.roots.size() == 1);
      const RootBlocker& root = a.roots.front();
      CHECK(root.pid == 21);
      CHECK(root.cycle == Pids{21, 22, 23});
      CHECK(root.max_chain_length == 5);
      CHECK(root.longest_chain == Pids{21, 22, 23, 24, 25});
      CHECK(root.blocked_total == 4);
      CHECK(sorted(root.waiters) == Pids{22, 23, 24, 25});
    }
    SUBCASE("a bare ring with nobody else waiting") {
      const PollSnapshots snapshot = SnapshotBuilder()
                                         .waiting(31, "api", {32}, 2)
                                         .waiting(32, "api", {33}, 2)
                                         .waiting(33, "api", {31}, 2)
                                         .build();
      const LockAnalysis a = analyse(snapshot);

      REQUIRE(a.roots.size() == 1);
      CHECK(a.roots.front().cycle == Pids{31, 32, 33});
      CHECK(a.roots.front().max_chain_length == 3);
      CHECK(a.roots.front().blocked_total == 2);
    }
    SUBCASE("a cycle downstream outweighs a shorter plain chain by all its members") {
      const PollSnapshots snapshot = SnapshotBuilder()
                                         .idle_in_tx(40, "api", 60)
                                         .waiting(50, "api", {40}, 2)
                                         .waiting(51, "api", {50}, 2)
                                         .waiting(41, "api", {40, 43}, 2)
                                         .waiting(42, "api", {41}, 2)
                                         .waiting(43, "api", {42}, 2)
                                         .build();
      const LockAnalysis a = analyse(snapshot);

      REQUIRE(a.roots.size() == 1);
      CHECK(a.roots.front().pid == 40);
      CHECK(a.roots.front().cycle.empty());
      CHECK(a.roots.front().longest_chain == Pids{40, 41, 42, 43});
      CHECK(a.roots.front().max_chain_length == 4);
      CHECK(a.roots.front().blocked_total == 5);
    }
    SUBCASE("a cycle held up by an outside blocker is not a root itself") {
      const PollSnapshots snapshot = SnapshotBuilder()
                                         .idle_in_tx(40, "api", 60)
                                         .waiting(41, "api", {40, 42}, 2)
                                         .waiting(42, "api", {41}, 2)
                                         .build();
      const LockAnalysis a = analyse(snapshot);

      REQUIRE(a.roots.size() == 1);
      CHECK(a.roots.front().pid == 40);
      CHECK(a.roots.front().cycle.empty());
      CHECK(a.roots.front().blocked_total == 2);
      CHECK(a.roots.front().max_chain_length == 3);
    }
  }

  TEST_CASE("a backend listed as its own blocker is ignored") {
    SUBCASE("alone") {
      const LockAnalysis a = analyse(SnapshotBuilder().waiting(50, "api", {50}, 3).build());
      CHECK(a.waiting == 1);
      CHECK(a.blocked == 0);
      CHECK(a.roots.empty());
      CHECK(a.max_chain_length == 0);
    }
    SUBCASE("next to a real blocker") {
      const PollSnapshots snapshot =
          SnapshotBuilder().idle_in_tx(49, "api", 60).waiting(50, "api", {50, 49}, 3).build();
      const LockAnalysis a = analyse(snapshot);
      CHECK(a.blocked == 1);
      REQUIRE(a.roots.size() == 1);
      CHECK(a.roots.front().pid == 49);
      CHECK(a.roots.front().longest_chain == Pids{49, 50});
    }
  }

  TEST_CASE("a snapshot without lock waiters has no roots and no chains") {
    const PollSnapshots snapshot =
        SnapshotBuilder().idle_in_tx(1, "api", 600).active(2, "api").in_state(3, "idle").build();
    const LockAnalysis a = analyse(snapshot);

    CHECK(a.waiting == 0);
    CHECK(a.blocked == 0);
    CHECK(a.max_chain_length == 0);
    CHECK(a.longest_wait_seconds == 0);
    CHECK(a.roots.empty());
  }

  TEST_CASE("a lock wait whose blockers already let go counts as waiting, not blocked") {
    const LockAnalysis a = analyse(SnapshotBuilder().waiting(7, "api", {}, 4).build());
    CHECK(a.waiting == 1);
    CHECK(a.blocked == 0);
    CHECK(a.roots.empty());
    CHECK(a.longest_wait_seconds == doctest::Approx(4));
  }

  TEST_CASE("a wait is measured from pg_locks.waitstart, else from the statement's start") {
    struct Case {
      const char* what;
      std::optional<Micros> waitstart;
      std::optional<Micros> query_start;
      double expected;
    };
    const Case cases[] = {
        // A long UPDATE that has only just hit a row lock has waited for a second, not ten
        // minutes: the time that matters to min_blocked_wait.
        {"waitstart 1s ago, statement 10min ago", k_now - k_micros_per_second,
         k_now - 600 * k_micros_per_second, 1.0},
        {"waitstart 1.5s ago", k_now - 1'500'000, std::nullopt, 1.5},
        {"no waitstart (PostgreSQL 13): the statement's start", std::nullopt,
         k_now - 45 * k_micros_per_second, 45.0},
        {"neither", std::nullopt, std::nullopt, 0.0},
        {"waitstart in the future (clock skew)", k_now + k_micros_per_second, std::nullopt, 0.0},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      PollSnapshots s =
          SnapshotBuilder().idle_in_tx(1, "api", 600).waiting(2, "api", {1}, 5).build();
      s.activity.backends.back().query_start = c.query_start;
      for (LockEntry& e : s.locks.queues.front().entries) {
        if (!e.granted) e.waitstart = c.waitstart;
      }
      const Observation obs(std::move(s));
      CHECK(obs.wait_seconds(2) == doctest::Approx(c.expected));
      CHECK(obs.wait_seconds(1) == 0.0);
    }
  }

  TEST_CASE("each root reports the longest wait among the backends it holds up") {
    const PollSnapshots snapshot = SnapshotBuilder()
                                       .idle_in_tx(1, "api", 600)
                                       .waiting(2, "api", {1}, 30)
                                       .waiting(3, "api", {2}, 80)
                                       .idle_in_tx(10, "api", 600)
                                       .waiting(11, "api", {10}, 5)
                                       .build();
    const LockAnalysis a = analyse(snapshot);

    REQUIRE(a.roots.size() == 2);
    CHECK(a.roots[0].pid == 1);
    CHECK(a.roots[0].longest_wait_seconds == doctest::Approx(80));
    CHECK(a.roots[1].pid == 10);
    CHECK(a.roots[1].longest_wait_seconds == doctest::Approx(5));
    CHECK(a.longest_wait_seconds == doctest::Approx(80));
  }

  TEST_CASE("a chain of 5000 backends is followed to its end without recursion") {
    constexpr int k_length = 5000;
    SnapshotBuilder b;
    b.idle_in_tx(1, "api", 600);
    for (int pid = 2; pid <= k_length; ++pid) b.waiting(pid, "api", {pid - 1}, 10);
    const LockAnalysis a = analyse(b.build());

    CHECK(a.max_chain_length == k_length);
    CHECK(a.blocked == k_length - 1);
    REQUIRE(a.roots.size() == 1);
    const RootBlocker& root = a.roots.front();
    CHECK(root.blocked_total == k_length - 1);
    REQUIRE(root.longest_chain.size() == static_cast<std::size_t>(k_length));
    for (int i = 0; i < k_length; ++i) REQUIRE(root.longest_chain[i] == i + 1);
  }

  TEST_CASE("a ring of 5000 backends is one cycle") {
    constexpr int k_length = 5000;
    SnapshotBuilder b;
    b.waiting(1, "api", {k_length}, 10);
    for (int pid = 2; pid <= k_length; ++pid) b.waiting(pid, "api", {pid - 1}, 10);
    const LockAnalysis a = analyse(b.build());

    REQUIRE(a.roots.size() == 1);
    CHECK(a.roots.front().pid == 1);
    CHECK(a.roots.front().cycle.size() == static_cast<std::size_t>(k_length));
    CHECK(a.roots.front().max_chain_length == k_length);
    CHECK(a.roots.front().blocked_total == k_length - 1);
  }
}

}  // namespace
}  // namespace lockwatch
