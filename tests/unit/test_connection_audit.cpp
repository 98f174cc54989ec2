#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "core/connection_audit.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

ActivitySnapshot busy_server() {
  return SnapshotBuilder()
      .at(k_now)
      .idle_in_tx(1, "api", 300)
      .user("api")
      .xact_age(400)
      .idle_in_tx(2, "api", 20)
      .user("api")
      .active(3, "worker", 5)
      .user("jobs")
      .xact_age(900)
      .database("analytics")
      .in_state(4, "idle")
      .in_state(5, "")
      .backend_type("autovacuum worker")
      .build()
      .activity;
}

TEST_SUITE("connection audit") {
  TEST_CASE("client backends are counted by state, database, user and application") {
    const ConnectionAudit audit = audit_connections(busy_server());
    CHECK(audit.client_backends == 4);
    CHECK(audit.by_state == Counts{{"idle in transaction", 2}, {"active", 1}, {"idle", 1}});
    CHECK(audit.by_database == Counts{{"shop", 3}, {"analytics", 1}});
    CHECK(audit.by_user == Counts{{"api", 2}, {"app", 1}, {"jobs", 1}});
    CHECK(audit.by_application == Counts{{"api", 2}, {"psql", 1}, {"worker", 1}});
  }

  TEST_CASE("the oldest transactions and idle-in-transaction sessions come first") {
    const ConnectionAudit audit = audit_connections(busy_server());
    REQUIRE(audit.oldest_transactions.size() == 4);
    CHECK(audit.oldest_transactions[0].pid == 3);
    CHECK(audit.oldest_transactions[0].xact_age_seconds == doctest::Approx(900));
    CHECK(audit.oldest_transactions[1].pid == 1);
    REQUIRE(audit.oldest_idle_in_transaction.size() == 2);
    CHECK(audit.oldest_idle_in_transaction[0].pid == 1);
    CHECK(audit.oldest_idle_in_transaction[0].state_age_seconds == doctest::Approx(300));
    CHECK(audit.oldest_idle_in_transaction[1].pid == 2);
  }

  TEST_CASE("the lists are cut to the number asked for") {
    const ConnectionAudit audit = audit_connections(busy_server(), 1);
    REQUIRE(audit.oldest_transactions.size() == 1);
    CHECK(audit.oldest_transactions[0].pid == 3);
    CHECK(audit.oldest_idle_in_transaction.size() == 1);
  }

  TEST_CASE("the text names every count and lists the sessions in aligned columns") {
    const std::string text = render_audit_text(audit_connections(busy_server()));
    CHECK(text.starts_with("client backends: 4\n"));
    CHECK(text.find("  by state:        idle in transaction 2, active 1, idle 1\n") !=
          std::string::npos);
    CHECK(text.find("  by database:     shop 3, analytics 1\n") != std::string::npos);
    CHECK(text.find("oldest transactions:\n  PID  USER  APPLICATION  CLIENT    XACT  STATE") !=
          std::string::npos);
    CHECK(text.find("  1    api   api          10.0.0.7  400s  idle in transaction 300s  "
                    "SELECT * FROM accounts WHERE id = ? FOR UPDATE\n") != std::string::npos);
  }

  TEST_CASE("an empty server says none rather than printing empty tables") {
    const std::string text =
        render_audit_text(audit_connections(SnapshotBuilder().build().activity));
    CHECK(text.find("client backends: 0\n") == 0);
    CHECK(text.find("oldest transactions: none\n") != std::string::npos);
    CHECK(text.find("oldest idle in transaction: none\n") != std::string::npos);
  }

  TEST_CASE("the JSON has the counts as objects and the sessions as arrays") {
    const std::string json = render_audit_json(audit_connections(busy_server()));
    CHECK(json.starts_with("{\"client_backends\":4,\"by_state\":{\"idle in transaction\":2,"));
    CHECK(json.find("\"by_user\":{\"api\":2,\"app\":1,\"jobs\":1}") != std::string::npos);
    CHECK(json.find("\"oldest_idle_in_transaction\":[{\"pid\":1,\"usename\":\"api\",") !=
          std::string::npos);
  }
}

}  // namespace
}  // namespace lockwatch
