#include <doctest/doctest.h>

#include "core/name_cache.hpp"

namespace lockwatch {
namespace {

using Clock = NameCache::Clock;
using namespace std::chrono_literals;

const Clock::time_point k_t0 = Clock::time_point(std::chrono::hours(1000));

NameCache with_catalogs(Clock::time_point at) {
  NameCache cache;
  cache.set_roles_and_databases({{5, "shop"}}, {{10, {"app", false}}, {11, {"admin", true}}}, at);
  return cache;
}

TEST_SUITE("name cache") {
  TEST_CASE("an empty cache asks for the catalogs and names nothing yet") {
    NameCache cache;
    const auto wanted = cache.wanted({5}, {10}, {16384}, k_t0);
    CHECK(wanted.roles_and_databases);
    CHECK(wanted.relations == std::vector<NameCache::Oid>{16384});
    CHECK(cache.database(5) == "oid:5");
    CHECK(cache.role(10).name == "oid:10");
    // An unknown role might be a superuser: no policy may act on it.
    CHECK(cache.role(10).superuser);
    CHECK_FALSE(cache.relation(16384));
    CHECK(cache.database(0).empty());
    CHECK_FALSE(cache.role(0).superuser);
  }

  TEST_CASE("known names are served without reading anything") {
    NameCache cache = with_catalogs(k_t0);
    cache.set_relations({{16384, std::string("public.accounts")}}, k_t0);
    CHECK(cache.wanted({5}, {10, 11}, {16384}, k_t0 + 5s).empty());
    CHECK(cache.database(5) == "shop");
    CHECK(cache.role(11).superuser);
    CHECK_FALSE(cache.role(10).superuser);
    CHECK(cache.relation(16384) == "public.accounts");
  }

  TEST_CASE("roles and databases are re-read every minute: ALTER ROLE ... SUPERUSER is seen") {
    NameCache cache = with_catalogs(k_t0);
    CHECK_FALSE(cache.wanted({5}, {10}, {}, k_t0 + 59s).roles_and_databases);
    CHECK(cache.wanted({5}, {10}, {}, k_t0 + 60s).roles_and_databases);
    cache.set_roles_and_databases({{5, "shop"}}, {{10, {"app", true}}}, k_t0 + 60s);
    CHECK(cache.role(10).superuser);
  }

  TEST_CASE("an unknown oid triggers a read, at most every ten seconds") {
    NameCache cache = with_catalogs(k_t0);
    CHECK(cache.wanted({5}, {12}, {}, k_t0 + 1s).roles_and_databases == false);  // just read
    CHECK(cache.wanted({5}, {12}, {}, k_t0 + 10s).roles_and_databases);
    CHECK(cache.wanted({6}, {10}, {}, k_t0 + 10s).roles_and_databases);
  }

  TEST_CASE("a failed read keeps what was known and waits before trying again") {
    NameCache cache = with_catalogs(k_t0);
    cache.roles_and_databases_failed(k_t0 + 60s);  // pg_authid locked by VACUUM FULL, say
    CHECK(cache.role(10).name == "app");
    CHECK_FALSE(cache.wanted({5}, {10}, {}, k_t0 + 65s).roles_and_databases);
    CHECK(cache.wanted({5}, {10}, {}, k_t0 + 70s).roles_and_databases);

    cache.relations_failed(k_t0);
    CHECK(cache.wanted({}, {}, {1, 2}, k_t0 + 9s).relations.empty());
    CHECK(cache.wanted({}, {}, {1, 2}, k_t0 + 10s).relations == std::vector<NameCache::Oid>{1, 2});
  }

  TEST_CASE("relations are asked for once each, and again once a minute (renames)") {
    NameCache cache;
    CHECK(cache.wanted({}, {}, {3, 1, 3, 2}, k_t0).relations ==
          std::vector<NameCache::Oid>{1, 2, 3});
    cache.set_relations({{1, std::string("a")}, {2, std::nullopt}, {3, std::string("c")}}, k_t0);
    CHECK(cache.wanted({}, {}, {1, 2, 3}, k_t0 + 59s).relations.empty());  // a dropped one too
    CHECK(cache.wanted({}, {}, {1}, k_t0 + 60s).relations == std::vector<NameCache::Oid>{1});
    CHECK_FALSE(cache.relation(2));
  }

  TEST_CASE("the relation cache is bounded whatever the number of relations seen") {
    NameCache cache;
    for (NameCache::Oid oid = 1; oid <= 3 * NameCache::k_max_relations; oid += 100) {
      std::vector<std::pair<NameCache::Oid, std::optional<std::string>>> batch;
      for (NameCache::Oid i = oid; i < oid + 100; ++i) batch.emplace_back(i, "r");
      cache.set_relations(batch, k_t0);
      REQUIRE(cache.relation_count() <= NameCache::k_max_relations);
    }
  }
}

}  // namespace
}  // namespace lockwatch
