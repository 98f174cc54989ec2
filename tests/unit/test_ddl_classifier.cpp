#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/ddl_classifier.hpp"
#include "parser/sql_parser.hpp"

namespace lockwatch {
namespace {

std::vector<ClassifiedStatement> classify(const std::string& sql) {
  const auto tree = parse_sql(sql);
  REQUIRE_MESSAGE(tree.has_value(), (tree ? "" : tree.error()));
  auto statements = classify_statements(*tree, sql);
  REQUIRE_MESSAGE(statements.has_value(), (statements ? "" : statements.error()));
  return std::move(*statements);
}

ClassifiedStatement classify_one(const std::string& sql) {
  auto statements = classify(sql);
  REQUIRE(statements.size() == 1);
  return statements[0];
}

LockMode mode_of(const toml::node* node) {
  REQUIRE(node != nullptr);
  const auto mode = parse_lock_mode(node->value_or(std::string()));
  REQUIRE(mode.has_value());
  return *mode;
}

Denotes denotes_of(const std::string& text) {
  if (text == "index_table") return Denotes::index_table;
  if (text == "referencing_tables") return Denotes::referencing_tables;
  REQUIRE(text == "relation");
  return Denotes::relation;
}

// One expected lock of the corpus; its role is compared only when given.
struct ExpectedLock {
  StatementLock target;
  bool role_given = false;
};

ExpectedLock expected_lock(const toml::table& t) {
  ExpectedLock e;
  e.target.relation.name = t["relation"].value_or(std::string());
  const auto dot = e.target.relation.name.find('.');
  if (dot != std::string::npos) {
    e.target.relation.schema = e.target.relation.name.substr(0, dot);
    e.target.relation.name.erase(0, dot + 1);
  }
  e.target.mode = mode_of(t.get("mode"));
  e.target.denotes = denotes_of(t["denotes"].value_or(std::string("relation")));
  e.target.constraint = t["constraint"].value_or(std::string());
  e.role_given = t.contains("role");
  e.target.role = t["role"].value_or(std::string());
  for (const auto& [key, value] : t) {
    const auto reach = parse_reach(key.str());
    if (reach) e.target.reaches[*reach] = mode_of(&value);
  }
  return e;
}

bool matches(const ExpectedLock& e, StatementLock got) {
  if (!e.role_given) got.role = e.target.role;
  return got == e.target;
}

std::string shown(const std::vector<StatementLock>& locks) {
  std::string out;
  for (const StatementLock& t : locks)
    out += "\n  " + describe_statement_lock(t) + " [" + t.role + "]";
  return out.empty() ? " (none)" : out;
}

void check_locks(const toml::table& entry, const ClassifiedStatement& s) {
  std::vector<ExpectedLock> expected;
  for (const toml::node& n : *entry["locks"].as_array()) {
    expected.push_back(expected_lock(*n.as_table()));
  }
  std::vector<ExpectedLock> missing;
  std::vector<StatementLock> extra = s.locks;
  for (const ExpectedLock& e : expected) {
    const auto it = std::find_if(extra.begin(), extra.end(),
                                 [&](const StatementLock& got) { return matches(e, got); });
    if (it == extra.end()) {
      missing.push_back(e);
    } else {
      extra.erase(it);
    }
  }
  std::vector<StatementLock> missing_targets;
  for (const ExpectedLock& e : missing) missing_targets.push_back(e.target);
  CHECK_MESSAGE(missing.empty(), "expected but not predicted:" << shown(missing_targets)
                                                               << "\npredicted:" << shown(s.locks));
  CHECK_MESSAGE(extra.empty(), "predicted but not expected:" << shown(extra));
}

void check_flags(const toml::table& entry, const ClassifiedStatement& s) {
  if (const auto kind = entry["kind"].value<std::string>()) CHECK(s.kind == *kind);
  CHECK_MESSAGE(!s.rewrites.empty() == entry["rewrites"].value_or(false), s.rewrites);
  if (entry.contains("scans"))
    CHECK_MESSAGE(!s.scans.empty() == entry["scans"].value_or(false), s.scans);
  CHECK_MESSAGE(s.classified == entry["classified"].value_or(true), s.unclassified);
  CHECK(s.needs_own_transaction == entry["own_transaction"].value_or(false));
  std::vector<std::string> advisory;
  for (const AdvisoryTarget& a : s.advisory) {
    advisory.push_back(advisory_key_text(a) + " " + sql_name(a.mode));
  }
  std::vector<std::string> expected;
  if (const toml::array* list = entry["advisory"].as_array()) {
    for (const toml::node& n : *list) {
      const toml::table& a = *n.as_table();
      expected.push_back(a["key"].value_or(std::string()) + " " +
                         a["mode"].value_or(std::string()));
    }
  }
  CHECK(advisory == expected);
}

toml::table corpus() {
  return toml::parse_file(LOCKWATCH_CORPUS_DIR "/ddl_locks.toml");
}

TEST_SUITE("ddl classifier") {
  TEST_CASE("every corpus statement: the locks, and what it does besides") {
    const toml::table doc = corpus();
    const toml::array& statements = *doc["statement"].as_array();
    CHECK(statements.size() > 100);
    for (const toml::node& n : statements) {
      const toml::table& entry = *n.as_table();
      const std::string sql = entry["sql"].value_or(std::string());
      CAPTURE(sql);
      const ClassifiedStatement s = classify_one(sql);
      CHECK(s.sql == sql);
      check_locks(entry, s);
      check_flags(entry, s);
    }
  }

  TEST_CASE("the corpus schema itself parses, statement by statement") {
    const toml::table doc = corpus();
    const auto statements = classify(doc["setup"].value_or(std::string()));
    CHECK(statements.size() > 20);
  }

  TEST_CASE("statements are split where PostgreSQL splits them, comments and semicolons off") {
    const auto s = classify(
        "-- add the column\nALTER TABLE a ADD COLUMN b int;\n\n/* then */ CREATE INDEX ON a (b);;"
        "SELECT ';' AS semicolon");
    REQUIRE(s.size() == 3);
    CHECK(s[0].sql == "ALTER TABLE a ADD COLUMN b int");
    CHECK(s[1].sql == "CREATE INDEX ON a (b)");
    CHECK(s[2].sql == "SELECT ';' AS semicolon");
    CHECK(s[2].number == 3);
  }

  TEST_CASE("BEGIN, COMMIT and lock_timeout settings are what they do to the session") {
    const auto s = classify(
        "BEGIN; SET lock_timeout = '2s'; SET LOCAL lock_timeout TO 0; RESET lock_timeout; "
        "SET lock_timeout = 500; RESET ALL; SET search_path = app; COMMIT; START TRANSACTION; "
        "ROLLBACK");
    REQUIRE(s.size() == 10);
    const std::vector<SessionEffect> expected = {SessionEffect::begin,
                                                 SessionEffect::sets_lock_timeout,
                                                 SessionEffect::clears_lock_timeout,
                                                 SessionEffect::clears_lock_timeout,
                                                 SessionEffect::sets_lock_timeout,
                                                 SessionEffect::clears_lock_timeout,
                                                 SessionEffect::none,
                                                 SessionEffect::end,
                                                 SessionEffect::begin,
                                                 SessionEffect::end};
    for (std::size_t i = 0; i < s.size(); ++i) {
      CAPTURE(s[i].sql);
      CHECK(s[i].effect == expected[i]);
      CHECK(s[i].locks.empty());
    }
  }

  TEST_CASE("SET search_path says what later names resolve against") {
    const auto s = classify(
        "SET search_path = app, \"Audit\", public; RESET search_path; "
        "SET search_path TO DEFAULT; SET work_mem = '1GB'");
    REQUIRE(s.size() == 4);
    CHECK(s[0].search_path == std::optional<std::string>("app, \"Audit\", public"));
    CHECK(s[1].search_path == std::optional<std::string>(""));
    CHECK(s[2].search_path == std::optional<std::string>(""));
    CHECK_FALSE(s[3].search_path.has_value());
  }

  TEST_CASE("an unknown statement is unclassified and assumed ACCESS EXCLUSIVE on what it names") {
    const auto s = classify_one("ALTER TABLE orders ATTACH PARTITION p DEFAULT");
    CHECK(s.classified);  // known...
    const auto unknown = classify_one("IMPORT FOREIGN SCHEMA remote FROM SERVER s INTO local");
    CHECK_FALSE(unknown.classified);
    CHECK(unknown.unclassified.find("ImportForeignSchema") != std::string::npos);
    const auto call = classify_one("UPDATE orders SET total = recompute(id)");
    CHECK_FALSE(call.classified);
    CHECK(call.unclassified ==
          "it calls recompute(), and what a function locks cannot be known "
          "from outside");
    const bool assumed =
        std::any_of(call.locks.begin(), call.locks.end(), [](const StatementLock& t) {
          return t.relation.name == "orders" && t.mode == LockMode::access_exclusive &&
                 t.reaches.count(Reach::children) && t.reaches.count(Reach::indexes);
        });
    CHECK(assumed);
  }

  TEST_CASE("schema-qualified and quoted names keep their case and parts") {
    const auto s = classify_one("ALTER TABLE \"Sales\".\"Order Lines\" ADD COLUMN x int");
    REQUIRE(s.locks.size() == 1);
    CHECK(s.locks[0].relation == RelationName{"Sales", "Order Lines"});
    CHECK(s.locks[0].relation.sql() == "\"Sales\".\"Order Lines\"");
  }

  TEST_CASE("an advisory lock key that is not a constant cannot be predicted") {
    const auto s = classify_one("SELECT pg_advisory_lock(hashtext('migrations'))");
    CHECK_FALSE(s.classified);
    CHECK(s.unclassified.find("not a constant") != std::string::npos);
  }

  TEST_CASE("a parse tree that is not one is an error, not an empty migration") {
    CHECK_FALSE(classify_statements("not json", "").has_value());
    CHECK_FALSE(classify_statements("[1]", "").has_value());
    const auto empty = classify_statements("{\"version\": 150001}", "");
    REQUIRE(empty.has_value());
    CHECK(empty->empty());
  }

  TEST_CASE("PostgreSQL's parser reports a syntax error with its line and column") {
    const auto tree = parse_sql("ALTER TABLE a ADD COLUMN b int;\nALTER TABEL b ADD c int");
    REQUIRE_FALSE(tree.has_value());
    CHECK(tree.error() == "syntax error at or near \"TABEL\" (line 2, column 7)");
  }

  TEST_CASE("strongest_mode is the strongest over every lock and reach") {
    CHECK(strongest_mode(classify_one("SELECT 1")) == LockMode::access_share);
    CHECK(strongest_mode(classify_one("REINDEX TABLE orders")) == LockMode::access_exclusive);
    CHECK(strongest_mode(classify_one("CREATE INDEX ON t (a)")) == LockMode::share);
  }
}

}  // namespace
}  // namespace lockwatch
