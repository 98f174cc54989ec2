#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/ddl_advice.hpp"
#include "parser/sql_parser.hpp"

namespace lockwatch {
namespace {

std::vector<std::vector<Advice>> advice_for(const std::string& sql,
                                            bool server_lock_timeout = false) {
  const auto tree = parse_sql(sql);
  REQUIRE(tree.has_value());
  const auto statements = classify_statements(*tree, sql);
  REQUIRE(statements.has_value());
  return advise(*statements, server_lock_timeout);
}

std::vector<std::string> kinds(const std::vector<Advice>& advice) {
  std::vector<std::string> out;
  for (const Advice& a : advice) out.push_back(a.kind);
  return out;
}

const Advice* find(const std::vector<Advice>& advice, const std::string& kind) {
  for (const Advice& a : advice) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

TEST_SUITE("ddl advice") {
  TEST_CASE("a lock that blocks writes wants a lock_timeout, unless one is set") {
    CHECK(kinds(advice_for("ALTER TABLE t ADD COLUMN c int")[0]) ==
          std::vector<std::string>{"lock_timeout"});
    const auto set = advice_for("SET lock_timeout = '2s'; ALTER TABLE t ADD COLUMN c int");
    CHECK(set[1].empty());
    const auto reset = advice_for("SET lock_timeout = '2s'; RESET lock_timeout; DROP TABLE t");
    CHECK(find(reset[2], "lock_timeout") != nullptr);
    CHECK(advice_for("ALTER TABLE t ADD COLUMN c int", true)[0].empty());  // the role's default
    // SHARE UPDATE EXCLUSIVE lets reads and writes go on: a wait for it holds up no one.
    CHECK(advice_for("ALTER TABLE t VALIDATE CONSTRAINT c")[0].empty());
  }

  TEST_CASE("rewrites and scans under a lock that blocks writes are flagged, with the safer form") {
    const auto a = advice_for("ALTER TABLE t ALTER COLUMN c TYPE bigint")[0];
    CHECK(kinds(a) == std::vector<std::string>{"rewrite", "safer", "lock_timeout"});
    const auto check = advice_for("ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)")[0];
    REQUIRE(find(check, "scan") != nullptr);
    CHECK(find(check, "scan")->text ==
          "reads every row to validate the CHECK constraint, holding ACCESS EXCLUSIVE");
    CHECK(find(check, "safer") != nullptr);
  }

  TEST_CASE("locks an earlier statement of the same transaction holds are named") {
    const auto a = advice_for(
        "BEGIN; ALTER TABLE a ADD COLUMN x int; CREATE INDEX ON b (y); COMMIT; "
        "CREATE INDEX ON b (z)");
    const Advice* held = find(a[2], "transaction");
    REQUIRE(held != nullptr);
    CHECK(held->text ==
          "runs in the transaction statement 1 began, which already holds ACCESS "
          "EXCLUSIVE on a (statement 2): those are held while this statement "
          "waits and runs");
    CHECK(find(a[4], "transaction") == nullptr);  // after COMMIT
  }

  TEST_CASE("CONCURRENTLY inside a transaction block, or sent with other statements, fails") {
    const auto in_block = advice_for("BEGIN; CREATE INDEX CONCURRENTLY i ON t (a); COMMIT");
    REQUIRE(find(in_block[1], "own_transaction") != nullptr);
    CHECK(find(in_block[1], "own_transaction")
              ->text.find("inside the transaction statement 1 "
                          "began") != std::string::npos);
    const auto together = advice_for("CREATE INDEX CONCURRENTLY i ON t (a); ANALYZE t");
    CHECK(find(together[0], "own_transaction")->text.starts_with("run it on its own"));
    CHECK(find(advice_for("CREATE INDEX CONCURRENTLY i ON t (a)")[0], "own_transaction") ==
          nullptr);
  }

  TEST_CASE("a relation the migration creates is nobody else's: no safer form, no lock_timeout") {
    const auto a = advice_for(
        "CREATE TABLE n (id int); CREATE INDEX ON n (id); "
        "ALTER TABLE public.n ADD CONSTRAINT c CHECK (id > 0)");
    CHECK(kinds(a[1]) == std::vector<std::string>{"new_relation"});
    CHECK(kinds(a[2]) == std::vector<std::string>{"new_relation"});
    CHECK(a[1][0].text == "n is created by statement 1: nobody else can be using it yet");
  }

  TEST_CASE("unclassified statements and notes are passed on") {
    const auto a = advice_for("DELETE FROM t; SELECT pg_advisory_lock(1)");
    CHECK(find(a[0], "note")->text.starts_with("DELETE without WHERE changes every row"));
    CHECK(find(a[1], "note")->text.find("until pg_advisory_unlock()") != std::string::npos);
    CHECK(find(advice_for("DO $$ BEGIN END $$")[0], "unclassified") != nullptr);
  }
}

}  // namespace
}  // namespace lockwatch
