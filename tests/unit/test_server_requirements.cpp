#include <doctest/doctest.h>

#include "core/server_requirements.hpp"

namespace lockwatch {
namespace {

ServerFacts facts(int version, bool superuser, bool stats, bool signal) {
  return ServerFacts{version, "lockwatch", superuser, stats, signal};
}

TEST_SUITE("server requirements") {
  TEST_CASE("PostgreSQL 13 and later are watched; older ones are refused with the reason") {
    CHECK_FALSE(unsupported_server(facts(130000, true, true, true)));
    CHECK_FALSE(unsupported_server(facts(150018, true, true, true)));
    const auto why = unsupported_server(facts(120017, true, true, true));
    REQUIRE(why);
    CHECK(*why ==
          "PostgreSQL 12 is not supported: pg_lockwatch needs PostgreSQL 13 or later "
          "(for pg_stat_activity.leader_pid)");
  }

  TEST_CASE("a role that cannot read other roles' activity is told how to fix it") {
    const auto problems = privilege_problems(facts(150000, false, false, true), false);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].privilege == "pg_read_all_stats");
    CHECK(problems[0].message.ends_with("GRANT pg_monitor TO lockwatch"));
  }

  TEST_CASE("pg_signal_backend matters only when some policy may signal") {
    CHECK(privilege_problems(facts(150000, false, true, false), false).empty());
    const auto problems = privilege_problems(facts(150000, false, true, false), true);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].privilege == "pg_signal_backend");
    CHECK(problems[0].message.ends_with("GRANT pg_signal_backend TO lockwatch"));
  }

  TEST_CASE("a superuser lacks nothing") {
    CHECK(privilege_problems(facts(150000, true, false, false), true).empty());
  }

  TEST_CASE("the metric's label values are fixed") {
    CHECK(checked_privileges() ==
          std::vector<std::string>{"pg_read_all_stats", "pg_signal_backend"});
  }
}

}  // namespace
}  // namespace lockwatch
