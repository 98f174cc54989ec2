#include <doctest/doctest.h>

#include "core/lock_description.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

LockSnapshot names() {
  LockSnapshot s;
  s.names_database = 5;
  s.relation_names[16384] = "public.accounts";
  s.relation_names[1262] = "pg_database";
  s.database_names[5] = "shop";
  s.database_names[6] = "billing";
  return s;
}

LockTarget target(LockType type, std::string name) {
  LockTarget t;
  t.type = type;
  t.type_name = std::move(name);
  return t;
}

TEST_SUITE("lock descriptions") {
  TEST_CASE("each lock type says what it is on") {
    const LockSnapshot n = names();
    CHECK(describe_target(accounts(), n) == "relation public.accounts");
    CHECK(describe_target(tuple_target(16384, 0, 7), n) == "tuple (0,7) of public.accounts");
    CHECK(describe_target(xact_target(2740), n) == "transaction 2740");
    LockTarget page = relation_target(16384);
    page.type = LockType::page;
    page.page = 12;
    CHECK(describe_target(page, n) == "page 12 of public.accounts");
    LockTarget extend = relation_target(16384);
    extend.type = LockType::extend;
    CHECK(describe_target(extend, n) == "extension of public.accounts");
    LockTarget vxid = target(LockType::virtualxid, "virtualxid");
    vxid.virtualxid = "3/17";
    CHECK(describe_target(vxid, n) == "virtual transaction 3/17");
    LockTarget future = target(LockType::other, "futurelock");
    CHECK(describe_target(future, n) == "futurelock lock");
  }

  TEST_CASE("advisory keys read back as the application passed them") {
    LockTarget bigint = advisory_target(42);
    CHECK(describe_target(bigint, names()) == "advisory lock 42");
    bigint.classid = 1;  // high half of the int8 key
    CHECK(describe_target(bigint, names()) == "advisory lock 4294967338");
    LockTarget pair = advisory_target(7);
    pair.classid = static_cast<std::uint32_t>(-3);
    pair.objsubid = 2;
    CHECK(describe_target(pair, names()) == "advisory lock (-3,7)");
  }

  TEST_CASE("relations of other databases are named by oid and database") {
    const LockSnapshot n = names();
    CHECK(describe_target(relation_target(16384, 6), n) == "relation 16384 in database billing");
    CHECK(describe_target(relation_target(99999), n) == "relation 99999");
    CHECK(describe_target(relation_target(1262, 0), n) == "relation pg_database");  // shared
  }

  TEST_CASE("object locks on databases name the database") {
    LockTarget db = target(LockType::object, "object");
    db.classid = 1262;
    db.objid = 6;
    CHECK(describe_target(db, names()) == "database billing");
  }
}

}  // namespace
}  // namespace lockwatch
