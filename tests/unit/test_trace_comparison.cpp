#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/trace_comparison.hpp"

namespace lockwatch {
namespace {

using LM = LockMode;

Footprint predicted(std::vector<FootprintLock> locks) {
  Footprint f;
  f.locks = std::move(locks);
  return f;
}

StatementTrace seen(std::vector<TracedLock> locks) {
  StatementTrace t;
  t.outcome = StatementTrace::Outcome::traced;
  t.locks = std::move(locks);
  return t;
}

TracedLock relation(Oid oid, const char* name, const char* mode, bool existed = true) {
  return TracedLock{false, oid, {}, name, mode, existed};
}

TEST_SUITE("trace comparison") {
  TEST_CASE("equal: the same modes on the same relations") {
    const auto c = compare_trace(
        predicted({{1, "orders", LM::access_exclusive, ""}}), {},
        seen({relation(1, "orders", "AccessExclusiveLock"), relation(1, "orders", "ShareLock")}));
    CHECK(c.verdict == TraceVerdict::equal);
  }

  TEST_CASE("covers: a stronger mode predicted, or more relations") {
    const auto c =
        compare_trace(predicted({{1, "orders", LM::share_row_exclusive, ""},
                                 {2, "orders_pkey", LM::access_share, "index of orders"}}),
                      {}, seen({relation(1, "orders", "RowExclusiveLock")}));
    CHECK(c.verdict == TraceVerdict::covers);
    CHECK(c.beyond ==
          std::vector<std::string>{"orders SHARE ROW EXCLUSIVE", "orders_pkey ACCESS SHARE"});
  }

  TEST_CASE("differs: a mode that conflicts with something the prediction does not") {
    // SHARE UPDATE EXCLUSIVE does not conflict with ROW EXCLUSIVE; SHARE does.
    const auto c = compare_trace(predicted({{1, "orders", LM::share_update_exclusive, ""}}), {},
                                 seen({relation(1, "orders", "ShareLock")}));
    CHECK(c.verdict == TraceVerdict::differs);
    CHECK(c.missed == std::vector<std::string>{"orders ShareLock"});
    const auto unknown =
        compare_trace(predicted({}), {}, seen({relation(7, "items", "AccessShareLock")}));
    CHECK(unknown.missed == std::vector<std::string>{"items AccessShareLock"});
  }

  TEST_CASE("locks on relations the statement made are nobody else's business") {
    const auto c =
        compare_trace(predicted({{1, "orders", LM::share, ""}}), {},
                      seen({relation(1, "orders", "ShareLock"),
                            relation(9, "orders_new_idx", "AccessExclusiveLock", false)}));
    CHECK(c.verdict == TraceVerdict::equal);
  }

  TEST_CASE("advisory locks compare by key") {
    TracedLock lock{true, 0, {0, 42, 1, LM::exclusive}, "", "ExclusiveLock", true};
    const AdvisoryTarget key{0, 42, 1, LM::exclusive};
    CHECK(compare_trace(predicted({}), {key}, seen({lock})).verdict == TraceVerdict::equal);
    lock.key.objid = 43;
    CHECK(compare_trace(predicted({}), {key}, seen({lock})).verdict == TraceVerdict::differs);
  }

  TEST_CASE("nothing to compare when the statement was not run") {
    StatementTrace t;
    t.outcome = StatementTrace::Outcome::not_run;
    CHECK(compare_trace(predicted({{1, "orders", LM::share, ""}}), {}, t).verdict ==
          TraceVerdict::not_traced);
  }
}

}  // namespace
}  // namespace lockwatch
