#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/ddl_classifier.hpp"
#include "parser/sql_parser.hpp"

namespace lockwatch {
namespace {

ClassifiedStatement classify(const std::string& sql) {
  const auto tree = parse_sql(sql);
  REQUIRE(tree.has_value());
  auto statements = classify_statements(*tree, sql);
  REQUIRE(statements.has_value());
  REQUIRE(statements->size() == 1);
  return (*statements)[0];
}

std::vector<std::string> steps(const ClassifiedStatement& s) {
  std::vector<std::string> out;
  if (!s.safer) return out;
  for (const SaferStep& step : s.safer->steps) out.push_back(step.sql + "  -- " + step.lock);
  return out;
}

TEST_SUITE("safer forms") {
  TEST_CASE("a CHECK: NOT VALID, then VALIDATE; an unnamed one gets PostgreSQL's default name") {
    CHECK(steps(classify("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0)")) ==
          std::vector<std::string>{
              "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID  -- "
              "ACCESS EXCLUSIVE on orders: brief, it reads no rows",
              "ALTER TABLE orders VALIDATE CONSTRAINT positive  -- SHARE UPDATE EXCLUSIVE on "
              "orders: reads and writes go on"});
    CHECK(steps(classify("alter table orders add check (amount > 0);")).at(0) ==
          "alter table orders add CONSTRAINT orders_amount_check check (amount > 0) NOT VALID  "
          "-- ACCESS EXCLUSIVE on orders: brief, it reads no rows");
    CHECK_FALSE(classify("ALTER TABLE orders ADD CHECK (amount > 0) NOT VALID").safer);
  }

  TEST_CASE("a foreign key: NOT VALID locks both tables briefly, VALIDATE lets writes go on") {
    const auto s =
        classify("ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES app.customers (id)");
    CHECK(steps(s) == std::vector<std::string>{
                          "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY "
                          "(customer_id) REFERENCES app.customers (id) NOT VALID  -- SHARE ROW "
                          "EXCLUSIVE on orders and app.customers: brief, it reads no rows",
                          "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey  -- "
                          "SHARE UPDATE EXCLUSIVE on orders, ROW SHARE on app.customers: reads "
                          "and writes go on"});
  }

  TEST_CASE("SET NOT NULL through a validated CHECK, in four steps") {
    const auto s = classify("ALTER TABLE \"Orders\" ALTER COLUMN amount SET NOT NULL");
    const auto got = steps(s);
    REQUIRE(got.size() == 4);
    CHECK(got[0] ==
          "ALTER TABLE \"Orders\" ADD CONSTRAINT \"Orders_amount_not_null\" CHECK (amount IS NOT "
          "NULL) NOT VALID  -- ACCESS EXCLUSIVE on \"Orders\": brief, it reads no rows");
    CHECK(
        got[2].starts_with("ALTER TABLE \"Orders\" ALTER COLUMN amount SET NOT NULL  -- ACCESS "
                           "EXCLUSIVE on \"Orders\": brief"));
  }

  TEST_CASE("indexes, detach and refresh: CONCURRENTLY, with the lock it takes") {
    CHECK(steps(classify("CREATE UNIQUE INDEX orders_ref ON orders (ref)")) ==
          std::vector<std::string>{
              "CREATE UNIQUE INDEX CONCURRENTLY orders_ref ON orders (ref)  -- SHARE UPDATE "
              "EXCLUSIVE on orders: reads and writes go on (cannot run inside a transaction "
              "block)"});
    CHECK(steps(classify("drop index orders_ref"))
              .at(0)
              .starts_with("drop index CONCURRENTLY orders_ref  -- SHARE UPDATE EXCLUSIVE"));
    CHECK(steps(classify("ALTER TABLE events DETACH PARTITION events_1"))
              .at(0)
              .starts_with("ALTER TABLE events DETACH PARTITION events_1 CONCURRENTLY  -- SHARE "
                           "UPDATE EXCLUSIVE"));
    CHECK(steps(classify("REFRESH MATERIALIZED VIEW totals")).at(0) ==
          "REFRESH MATERIALIZED VIEW CONCURRENTLY totals  -- EXCLUSIVE on totals: reads go on");
    CHECK(steps(classify("REINDEX INDEX orders_ref"))
              .at(0)
              .starts_with("REINDEX INDEX CONCURRENTLY orders_ref"));
    CHECK_FALSE(classify("CREATE INDEX CONCURRENTLY i ON orders (ref)").safer);
  }

  TEST_CASE("a primary key: build the unique index concurrently, then attach it") {
    CHECK(steps(classify("ALTER TABLE plain ADD PRIMARY KEY (id, part)")) ==
          std::vector<std::string>{
              "CREATE UNIQUE INDEX CONCURRENTLY plain_pkey ON plain (id, part)  -- SHARE UPDATE "
              "EXCLUSIVE on plain: reads and writes go on (cannot run inside a transaction block)",
              "ALTER TABLE plain ADD CONSTRAINT plain_pkey PRIMARY KEY USING INDEX plain_pkey  -- "
              "ACCESS EXCLUSIVE on plain: brief"});
  }

  TEST_CASE("rewrites and partition creation get advice in words") {
    CHECK(classify("ALTER TABLE t ALTER COLUMN c TYPE bigint").safer->summary.find("backfill") !=
          std::string::npos);
    CHECK(classify("ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()")
              .safer->summary.starts_with("add the column without the default"));
    CHECK(classify("CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2)")
              .safer->summary.find("ATTACH PARTITION") != std::string::npos);
    CHECK(classify("VACUUM FULL t").safer->summary.find("pg_repack") != std::string::npos);
    CHECK_FALSE(classify("ALTER TABLE t ADD COLUMN c int").safer);
  }
}

}  // namespace
}  // namespace lockwatch
