#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/preflight_report.hpp"
#include "parser/sql_parser.hpp"
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

// The footprint of a DDL on accounts: the table, its partition and its index.
StatementCheck accounts(LockMode mode) {
  StatementCheck c = table_check(wanting(mode));
  c.footprint.locks = {{1, "accounts", mode, ""},
                       {2, "accounts_2024", mode, "partition of accounts"},
                       {3, "accounts_pkey", mode, "index of accounts"}};
  return c;
}

HeldLock relation_lock(int pid, Oid oid, const char* mode, bool granted) {
  HeldLock l;
  l.pid = pid;
  l.relation = oid;
  l.mode = mode;
  l.granted = granted;
  return l;
}

// A reader idle in its transaction (table and index), a writer on the partition only, a
// migration queued behind them, a prepared transaction, and a serializable reader.
const std::vector<HeldLock> k_locks = {
    relation_lock(65365, 1, "AccessShareLock", true),
    relation_lock(65365, 3, "AccessShareLock", true),
    relation_lock(70000, 2, "RowExclusiveLock", true),
    relation_lock(79250, 1, "AccessExclusiveLock", false),
    relation_lock(0, 1, "RowExclusiveLock", true),
    relation_lock(71000, 1, "SIReadLock", true),
    relation_lock(72000, 99, "AccessExclusiveLock", true),  // not in the footprint
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

std::vector<int> pids(const std::vector<ConflictingSession>& sessions) {
  std::vector<int> out;
  for (const ConflictingSession& s : sessions) out.push_back(s.pid);
  return out;
}

PreflightReport table_report(LockMode mode, const Observation& obs,
                             const std::vector<HeldLock>& locks, Duration age = 30s) {
  return assess_preflight(wanting(mode, age), {accounts(mode)}, obs, locks, "shop");
}

std::vector<ClassifiedStatement> statements(const std::string& sql) {
  const auto tree = parse_sql(sql);
  REQUIRE(tree.has_value());
  auto s = classify_statements(*tree, sql);
  REQUIRE(s.has_value());
  return *s;
}

// --sql checks with footprints keyed by relation name (orders = 10, customers = 20).
std::vector<StatementCheck> sql_checks(const std::string& sql) {
  const auto parsed = statements(sql);
  const auto advice = advise(parsed, false);
  std::vector<StatementCheck> out;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    StatementCheck c;
    c.statement = parsed[i];
    c.advice = advice[i];
    for (const StatementLock& t : c.statement.locks) {
      const Oid oid = t.relation.name == "orders" ? 10 : (t.relation.name == "customers" ? 20 : 0);
      if (oid == 0) {
        c.footprint.missing.push_back(t.relation.sql());
      } else {
        c.footprint.locks.push_back({oid, t.relation.name, t.mode, ""});
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

PreflightRequest sql_request() {
  PreflightRequest r;
  r.sql = "...";
  r.max_xact_age = 0s;
  return r;
}

TEST_SUITE("preflight report") {
  const Observation obs(server());

  TEST_CASE("ACCESS EXCLUSIVE: every holder anywhere in the footprint, every queued request") {
    const auto r = table_report(LockMode::access_exclusive, obs, k_locks);
    CHECK(pids(r.statements[0].holders) == std::vector<int>{65365, 70000, 0});
    CHECK(pids(r.statements[0].queued) == std::vector<int>{79250});
    REQUIRE(r.old_transactions.size() == 1);
    CHECK(r.old_transactions[0].pid == 80000);  // 81000 is in another database
    CHECK_FALSE(r.clear());
    // One session, each of its conflicting locks: the table, then its index.
    const auto& reader = r.statements[0].holders[0];
    REQUIRE(reader.locks.size() == 2);
    CHECK(reader.locks[1].relation == "accounts_pkey");
    CHECK(reader.locks[1].via == "index of accounts");
  }

  TEST_CASE("a weaker mode only minds the locks that conflict with it") {
    const auto share = table_report(LockMode::share, obs, k_locks, 0s);
    CHECK(pids(share.statements[0].holders) == std::vector<int>{70000, 0});
    CHECK(pids(share.statements[0].queued) == std::vector<int>{79250});
    const auto reader = table_report(LockMode::access_share, obs, {k_locks[0], k_locks[2]}, 0s);
    CHECK(reader.clear());
  }

  TEST_CASE("the text names each session, the relation and mode it holds, and why it counts") {
    const auto r = table_report(LockMode::access_exclusive, obs, k_locks);
    const std::string text = render_preflight_text(r);
    CHECK(
        text.starts_with("preflight: ACCESS EXCLUSIVE on accounts: NOT CLEAR\n"
                         "checked accounts and 2 related relations (1 index, 1 partition)\n"
                         "holding a conflicting lock (3):\n"));
    CHECK(text.find(
              "  70000  accounts_2024 (partition of accounts)  RowExclusiveLock  app   writer") !=
          std::string::npos);
    CHECK(text.find("         accounts_pkey (index of accounts)      AccessShareLock\n") !=
          std::string::npos);
    CHECK(text.find("  0      accounts                               RowExclusiveLock  -     -    "
                    "        prepared transaction\n") != std::string::npos);
    CHECK(text.find("queued for a conflicting lock (1):\n") != std::string::npos);
    CHECK(text.find("transactions older than 30s (1):\n") != std::string::npos);
  }

  TEST_CASE("clear when nothing conflicts and no transaction is too old") {
    const auto r = table_report(LockMode::access_exclusive, obs, {}, 5min);
    CHECK(r.clear());
    CHECK(render_preflight_text(r) ==
          "preflight: ACCESS EXCLUSIVE on accounts: clear (no conflicting lock, nothing queued, "
          "no transaction older than 5m)\n"
          "checked accounts and 2 related relations (1 index, 1 partition)\n");
    const std::string json = render_preflight_json(r);
    CHECK(
        json.starts_with("{\"clear\":true,\"max_xact_age_seconds\":300.000,\"lock_mode\":"
                         "\"ACCESS EXCLUSIVE\",\"tables\":[\"accounts\"],\"footprint\":[{"
                         "\"relation\":\"accounts\",\"oid\":1,\"mode\":\"ACCESS EXCLUSIVE\","
                         "\"via\":\"\"},"));
    CHECK(json.ends_with("\"missing\":[],\"holders\":[],\"queued\":[],\"old_transactions\":[]}"));
  }

  TEST_CASE("--sql: each statement with its locks, advice, safer form and own verdict") {
    const auto checks = sql_checks(
        "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);\n"
        "SELECT count(*) FROM customers");
    std::vector<HeldLock> locks = {relation_lock(70000, 20, "RowExclusiveLock", true)};
    const auto r = assess_preflight(sql_request(), checks, obs, locks, "shop");
    CHECK_FALSE(r.clear());
    CHECK_FALSE(r.statements[0].clear());  // SHARE ROW EXCLUSIVE on customers vs a writer
    CHECK(r.statements[1].clear());        // reading goes along with the writer
    const std::string text = render_preflight_text(r);
    CHECK(text.starts_with(
        "preflight: 2 statements: NOT CLEAR\n"
        "statement 1 (ALTER TABLE): ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES "
        "customers (id)\n"
        "  takes orders SHARE ROW EXCLUSIVE with its partitions and children; indexes ACCESS "
        "SHARE\n"
        "  takes customers SHARE ROW EXCLUSIVE with its partitions and children; indexes ACCESS "
        "SHARE\n"
        "  ! reads every row to check the foreign key against customers, holding SHARE ROW "
        "EXCLUSIVE\n"
        "  safer: add the constraint NOT VALID"));
    CHECK(text.find("    1. ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY "
                    "(customer_id) REFERENCES customers (id) NOT VALID\n"
                    "       -- SHARE ROW EXCLUSIVE on orders and customers: brief, it reads no "
                    "rows\n") != std::string::npos);
    CHECK(text.find("  ! no lock_timeout is set before it") != std::string::npos);
    CHECK(text.find("  NOT CLEAR\n  holding a conflicting lock (1):\n    PID    RELATION   MODE "
                    "             USER") != std::string::npos);
    CHECK(text.find("statement 2 (SELECT): SELECT count(*) FROM customers\n") != std::string::npos);
    CHECK(text.ends_with("  checked customers\n  clear\n"));
  }

  TEST_CASE("--sql: an unclassified statement is never clear; a new relation is not missing") {
    const auto checks =
        sql_checks("CREATE TABLE audit (id int); CREATE INDEX ON audit (id); SELECT recompute()");
    const auto r = assess_preflight(sql_request(), checks, obs, {}, "shop");
    CHECK(r.statements[1].clear());
    CHECK(r.statements[1].created_earlier == std::vector<std::string>{"audit"});
    CHECK_FALSE(r.statements[2].clear());
    CHECK_FALSE(r.clear());
    const std::string text = render_preflight_text(r);
    CHECK(text.find("  note: audit is created by statement 1: nobody else can be using it yet\n"
                    "  not yet there: audit\n  clear\n") != std::string::npos);
    CHECK(text.find("  ! unclassified: it calls recompute(), and what a function locks cannot "
                    "be known from outside; assumed ACCESS EXCLUSIVE") != std::string::npos);
    CHECK(text.ends_with("  NOT CLEAR: its locks cannot be predicted\n"));
  }

  TEST_CASE("--sql: an advisory lock conflicts only with the same key in a conflicting mode") {
    const auto checks =
        sql_checks("SELECT pg_advisory_lock(42); SELECT pg_advisory_lock_shared(7)");
    HeldLock migration;
    migration.pid = 65365;
    migration.advisory = true;
    migration.key = {0, 42, 1};
    migration.mode = "ExclusiveLock";
    migration.granted = true;
    HeldLock reader = migration;
    reader.key = {0, 7, 1};
    reader.mode = "ShareLock";
    const auto r = assess_preflight(sql_request(), checks, obs, {migration, reader}, "shop");
    CHECK_FALSE(r.statements[0].clear());
    REQUIRE(r.statements[0].holders.size() == 1);
    CHECK(r.statements[0].holders[0].locks[0].relation == "advisory lock 42");
    CHECK(r.statements[1].clear());  // two SHARE holders of key 7 go along
  }

  TEST_CASE("--trace: the verdict, and a missed lock is not clear and is checked") {
    auto checks = sql_checks("LOCK TABLE orders IN SHARE MODE");
    StatementTrace seen;
    seen.outcome = StatementTrace::Outcome::traced;
    seen.locks = {{false, 10, {}, "orders", "ShareLock", true},
                  {false, 20, {}, "customers", "AccessShareLock", true},
                  {false, 30, {}, "pg_temp_1", "AccessExclusiveLock", false}};
    attach_trace(checks[0], seen);
    CHECK(checks[0].comparison.verdict == TraceVerdict::differs);
    CHECK(checks[0].comparison.missed == std::vector<std::string>{"customers AccessShareLock"});
    CHECK(checks[0].footprint.locks.back().via == "seen by --trace");
    const std::vector<HeldLock> locks = {relation_lock(65365, 20, "AccessExclusiveLock", true)};
    const auto r = assess_preflight(sql_request(), checks, obs, locks, "shop");
    CHECK(pids(r.statements[0].holders) == std::vector<int>{65365});
    const std::string text = render_preflight_text(r);
    CHECK(text.find("  trace: saw orders ShareLock, customers AccessShareLock\n"
                    "  trace: PREDICTION MISSED customers AccessShareLock") != std::string::npos);
  }
}

}  // namespace
}  // namespace lockwatch
