#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "core/wait_graph.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Pids = std::vector<int>;
using Closure = std::map<int, std::set<int>>;

constexpr LockMode k_all_modes[] = {
    LockMode::access_share,  LockMode::row_share,
    LockMode::row_exclusive, LockMode::share_update_exclusive,
    LockMode::share,         LockMode::share_row_exclusive,
    LockMode::exclusive,     LockMode::access_exclusive,
};

// PostgreSQL's documented table ("Conflicting Lock Modes", Explicit Locking): row = the
// mode requested, column = a mode held, X = they conflict. Typed in from the docs, not
// computed from lock_modes.cpp.
constexpr const char* k_documented_conflicts[8] = {
    ".......X",  // ACCESS SHARE
    "......XX",  // ROW SHARE
    "....XXXX",  // ROW EXCLUSIVE
    "...XXXXX",  // SHARE UPDATE EXCLUSIVE
    "..XX.XXX",  // SHARE
    "..XXXXXX",  // SHARE ROW EXCLUSIVE
    ".XXXXXXX",  // EXCLUSIVE
    "XXXXXXXX",  // ACCESS EXCLUSIVE
};

LockQueue queue_of(LockTarget target, std::vector<LockEntry> entries) {
  return LockQueue{std::move(target), std::move(entries)};
}

LockEntry held(int session, LockMode mode) {
  return LockEntry{session, mode, true, std::nullopt};
}

LockEntry waits(int session, LockMode mode, Micros since) {
  return LockEntry{session, mode, false, since};
}

WaitGraph graph_of(std::vector<LockQueue> queues, const LeaderMap& leaders = {}) {
  LockSnapshot s;
  s.taken = true;
  s.queues = std::move(queues);
  return build_wait_graph(s, leaders);
}

Pids blockers(const WaitGraph& g, int session) {
  Pids out;
  for (const WaitEdge& e : g.blockers_of(session)) out.push_back(e.blocker);
  return out;
}

// Everything that holds each session up, transitively (itself included in a cycle).
Closure closure_of(const std::map<int, std::set<int>>& direct) {
  Closure out;
  for (const auto& [session, first] : direct) {
    std::set<int>& seen = out[session];
    std::vector<int> todo(first.begin(), first.end());
    while (!todo.empty()) {
      const int b = todo.back();
      todo.pop_back();
      if (!seen.insert(b).second) continue;
      const auto it = direct.find(b);
      if (it != direct.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
  }
  return out;
}

std::map<int, std::set<int>> direct_of(const WaitGraph& g) {
  std::map<int, std::set<int>> direct;
  for (int s : g.sessions()) {
    for (const WaitEdge& e : g.blockers_of(s)) direct[s].insert(e.blocker);
  }
  return direct;
}

// pg_blocking_pids() written out plainly for one queue whose order is waitstart order
// (nobody that waits holds a mode here): every conflicting holder, every conflicting
// request ahead, never the same session.
std::map<int, std::set<int>> reference_direct(const std::vector<LockQueue>& queues) {
  std::map<int, std::set<int>> direct;
  for (const LockQueue& q : queues) {
    std::vector<LockEntry> waiting;
    for (const LockEntry& e : q.entries) {
      if (!e.granted) waiting.push_back(e);
    }
    std::sort(waiting.begin(), waiting.end(),
              [](const LockEntry& a, const LockEntry& b) { return a.waitstart < b.waitstart; });
    for (std::size_t k = 0; k < waiting.size(); ++k) {
      const LockEntry& w = waiting[k];
      for (const LockEntry& h : q.entries) {
        if (h.granted && h.session != w.session && conflicts(w.mode, mask_of(h.mode))) {
          direct[w.session].insert(h.session);
        }
      }
      for (std::size_t j = 0; j < k; ++j) {
        if (waiting[j].session != w.session && conflicts(w.mode, mask_of(waiting[j].mode))) {
          direct[w.session].insert(waiting[j].session);
        }
      }
    }
  }
  return direct;
}

TEST_SUITE("wait graph") {
  TEST_CASE("a held mode blocks a request exactly as PostgreSQL's conflict table says") {
    for (int requested = 0; requested < 8; ++requested) {
      for (int holding = 0; holding < 8; ++holding) {
        const bool documented = k_documented_conflicts[requested][holding] == 'X';
        CAPTURE(requested);
        CAPTURE(holding);
        CHECK(conflicts(k_all_modes[requested], k_all_modes[holding]) == documented);
        const WaitGraph g = graph_of({queue_of(
            accounts(), {held(1, k_all_modes[holding]), waits(2, k_all_modes[requested], 5)})});
        CHECK(blockers(g, 2) == (documented ? Pids{1} : Pids{}));
        if (documented) {
          REQUIRE(g.blockers_of(2).size() == 1);
          CHECK(g.blockers_of(2)[0].hard);
          CHECK(g.blockers_of(2)[0].modes == mask_of(k_all_modes[holding]));
        }
      }
    }
  }

  TEST_CASE("every lock type uses the same table: tuple, transaction, advisory, object, ...") {
    LockTarget object;
    object.type = LockType::object;
    object.type_name = "object";
    object.classid = 1262;
    object.objid = 5;
    LockTarget unknown;
    unknown.type_name = "futurelock";
    for (const LockTarget& t : {tuple_target(k_accounts_oid, 3, 7), xact_target(42),
                                advisory_target(7), object, unknown}) {
      CAPTURE(t.type_name);
      const WaitGraph g =
          graph_of({queue_of(t, {held(1, LockMode::exclusive), waits(2, LockMode::share, 5),
                                 waits(3, LockMode::access_share, 6)})});
      CHECK(blockers(g, 2) == Pids{1});
      CHECK(blockers(g, 3).empty());  // AccessShare conflicts only with AccessExclusive
    }
  }

  TEST_CASE("a request conflicting with one queued ahead waits behind it (soft edge)") {
    // The seed: 65365 reads; the ALTER waits; a reader behind the ALTER waits for it,
    // though its AccessShare does not conflict with what 65365 holds.
    const WaitGraph g =
        graph_of({queue_of(accounts(), {
                                           held(65365, LockMode::access_share),
                                           waits(79250, LockMode::access_exclusive, 10),
                                           waits(79337, LockMode::access_share, 20),
                                       })});
    CHECK(blockers(g, 79250) == Pids{65365});
    REQUIRE(g.blockers_of(79337).size() == 1);
    CHECK(g.blockers_of(79337)[0].blocker == 79250);
    CHECK_FALSE(g.blockers_of(79337)[0].hard);
    CHECK(g.blockers_of(79337)[0].modes == mask_of(LockMode::access_exclusive));
  }

  TEST_CASE("the seed incident is a chain of four") {
    const Observation obs(seed_incident());
    REQUIRE(obs.locks().roots.size() == 1);
    CHECK(obs.locks().roots.front().longest_chain == Pids{65365, 79250, 77970, 79337});
    CHECK(obs.locks().max_chain_length == 4);
  }

  TEST_CASE("a request queued behind another it does not conflict with is not held up by it") {
    const WaitGraph g = graph_of({queue_of(accounts(), {
                                                           held(1, LockMode::access_exclusive),
                                                           waits(2, LockMode::access_share, 10),
                                                           waits(3, LockMode::access_share, 20),
                                                       })});
    CHECK(blockers(g, 3) == Pids{1});  // not 2: AccessShare and AccessShare are compatible
  }

  TEST_CASE("members of one lock group never block each other; edges run between leaders") {
    // Leader 100 and its worker 101 hold; worker 102 of the same query waits, and so does
    // 200 of another session.
    const LeaderMap leaders = {{101, 100}, {102, 100}};
    const WaitGraph g = graph_of({queue_of(accounts(),
                                           {
                                               held(101, LockMode::access_exclusive),
                                               waits(102, LockMode::access_share, 10),
                                               waits(200, LockMode::access_share, 20),
                                           })},
                                 leaders);
    CHECK(blockers(g, 100).empty());
    CHECK(g.is_waiting(100));  // its worker waits: the session waits
    REQUIRE(g.waits_of(100).size() == 1);
    CHECK(g.waits_of(100)[0].pid == 102);
    CHECK(blockers(g, 200) == Pids{100});
    CHECK(blockers(g, 101).empty());  // workers are not sessions of their own
    CHECK(g.waiters_of(101).empty());
  }

  TEST_CASE("a waiter that holds a conflicting mode is queued ahead of those it conflicts with") {
    // ProcSleep: 3 already holds AccessShare, which 2's queued AccessExclusive conflicts
    // with, so 3's new request goes ahead of 2 although it came later.
    const WaitGraph g = graph_of({queue_of(accounts(), {
                                                           held(1, LockMode::share),
                                                           held(3, LockMode::access_share),
                                                           waits(2, LockMode::access_exclusive, 10),
                                                           waits(3, LockMode::exclusive, 20),
                                                       })});
    // 3 waits for 1's Share (hard), not for 2 (2 is behind it). 2 waits for what both
    // hold; 1 is implied (2 -> 3 -> 1), so only 3 is drawn: by what it holds, not queued.
    CHECK(blockers(g, 3) == Pids{1});
    REQUIRE(g.blockers_of(2).size() == 1);
    CHECK(g.blockers_of(2)[0].blocker == 3);
    CHECK(g.blockers_of(2)[0].hard);
    CHECK(g.blockers_of(2)[0].modes == mask_of(LockMode::access_share));
  }

  TEST_CASE("an upgrade: a holder waiting for a stronger mode blocks by what it holds") {
    // 1 and 2 read; 1 asks for AccessExclusive and waits for 2; 3 then asks for
    // RowExclusive: 1's AccessShare does not conflict with it, 1's queued request does.
    const WaitGraph g = graph_of({queue_of(accounts(), {
                                                           held(1, LockMode::access_share),
                                                           held(2, LockMode::access_share),
                                                           waits(1, LockMode::access_exclusive, 10),
                                                           waits(3, LockMode::row_exclusive, 20),
                                                       })});
    CHECK(blockers(g, 1) == Pids{2});
    REQUIRE(g.blockers_of(3).size() == 1);
    CHECK(g.blockers_of(3)[0].blocker == 1);
    CHECK_FALSE(g.blockers_of(3)[0].hard);
  }

  TEST_CASE("a prepared transaction holds locks as a session of its own") {
    const WaitGraph g = graph_of(
        {queue_of(xact_target(7), {held(-1, LockMode::exclusive), waits(10, LockMode::share, 5)})});
    CHECK(blockers(g, 10) == Pids{-1});
    CHECK_FALSE(g.is_waiting(-1));
  }

  TEST_CASE("a deadlock: each holds what the other wants") {
    const WaitGraph g = graph_of({
        queue_of(relation_target(1),
                 {held(10, LockMode::access_exclusive), waits(20, LockMode::access_share, 5)}),
        queue_of(relation_target(2),
                 {held(20, LockMode::access_exclusive), waits(10, LockMode::access_share, 6)}),
    });
    CHECK(blockers(g, 10) == Pids{20});
    CHECK(blockers(g, 20) == Pids{10});
    const LockAnalysis a = analyse_locks(g, {});
    REQUIRE(a.roots.size() == 1);
    CHECK(a.roots.front().cycle == Pids{10, 20});
  }

  TEST_CASE("a queue of N conflicting requests has O(N) edges and the same blockers") {
    const auto queue = [](int waiters) {
      std::vector<LockEntry> entries = {held(1, LockMode::access_share)};
      for (int pid = 2; pid <= waiters + 1; ++pid) {
        entries.push_back(waits(pid, LockMode::access_exclusive, pid));
      }
      return std::vector<LockQueue>{queue_of(accounts(), entries)};
    };
    // Each waits behind the one ahead of it, the first behind 1: one edge per waiter.
    CHECK(graph_of(queue(3000)).edge_count() == 3000);
    // The reference gives each all the ones ahead (a cubic closure to check: keep it small).
    const std::vector<LockQueue> small = queue(300);
    CHECK(closure_of(direct_of(graph_of(small))) == closure_of(reference_direct(small)));
  }

  TEST_CASE("readers behind an ALTER wait for it alone, not for each other") {
    std::vector<LockEntry> entries = {held(1, LockMode::access_share),
                                      waits(2, LockMode::access_exclusive, 1)};
    for (int pid = 3; pid <= 1002; ++pid)
      entries.push_back(waits(pid, LockMode::access_share, pid));
    const WaitGraph g = graph_of({queue_of(accounts(), entries)});
    CHECK(g.edge_count() == 1001);
    CHECK(blockers(g, 500) == Pids{2});
  }

  TEST_CASE("leaving out implied edges never changes what holds a waiter up (random queues)") {
    std::mt19937 random(20261203);
    for (int round = 0; round < 400; ++round) {
      CAPTURE(round);
      std::vector<LockQueue> queues;
      const int objects = 1 + static_cast<int>(random() % 3);
      for (int o = 0; o < objects; ++o) {
        std::vector<LockEntry> entries;
        std::set<int> used;
        const int holders = static_cast<int>(random() % 4);
        const int waiters = 1 + static_cast<int>(random() % 12);
        for (int h = 0; h < holders; ++h) {
          const int pid = 1 + static_cast<int>(random() % 20);
          if (!used.insert(pid).second) continue;
          entries.push_back(held(pid, k_all_modes[random() % 8]));
        }
        for (int w = 0; w < waiters; ++w) {
          const int pid = 21 + static_cast<int>(random() % 30);
          if (!used.insert(pid).second) continue;
          entries.push_back(waits(pid, k_all_modes[random() % 8], 1000 + w));
        }
        queues.push_back(queue_of(relation_target(static_cast<std::uint32_t>(100 + o)), entries));
      }
      const WaitGraph g = graph_of(queues);
      CHECK(closure_of(direct_of(g)) == closure_of(reference_direct(queues)));
    }
  }
}

}  // namespace
}  // namespace lockwatch
