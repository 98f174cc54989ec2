#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/lock_modes.hpp"

namespace lockwatch {
namespace {

const std::vector<LockMode> k_all = {LockMode::access_share,  LockMode::row_share,
                                     LockMode::row_exclusive, LockMode::share_update_exclusive,
                                     LockMode::share,         LockMode::share_row_exclusive,
                                     LockMode::exclusive,     LockMode::access_exclusive};

TEST_SUITE("lock modes") {
  TEST_CASE("every spelling an operator might use reads as the same mode") {
    struct Case {
      const char* text;
      LockMode expected;
    };
    const Case cases[] = {
        {"ACCESS EXCLUSIVE", LockMode::access_exclusive},
        {"AccessExclusiveLock", LockMode::access_exclusive},
        {"access_exclusive", LockMode::access_exclusive},
        {"access-exclusive", LockMode::access_exclusive},
        {"ACCESS EXCLUSIVE LOCK", LockMode::access_exclusive},
        {"SHARE UPDATE EXCLUSIVE", LockMode::share_update_exclusive},
        {"ShareLock", LockMode::share},
        {"share", LockMode::share},
        {"row exclusive", LockMode::row_exclusive},
        {"RowShareLock", LockMode::row_share},
        {"exclusive", LockMode::exclusive},
        {"AccessShareLock", LockMode::access_share},
        {"ShareRowExclusiveLock", LockMode::share_row_exclusive},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto mode = parse_lock_mode(c.text);
      REQUIRE(mode.has_value());
      CHECK(*mode == c.expected);
    }
  }

  TEST_CASE("anything else is refused, naming the accepted spellings") {
    for (const char* text : {"", "lock", "SIReadLock", "ACCESS", "exclusive!", "row  share x"}) {
      CAPTURE(text);
      const auto mode = parse_lock_mode(text);
      REQUIRE_FALSE(mode.has_value());
      CHECK(mode.error().starts_with("unknown lock mode \"" + std::string(text) + "\""));
      CHECK(mode.error().find("ACCESS EXCLUSIVE") != std::string::npos);
    }
  }

  TEST_CASE("names round-trip in both spellings") {
    for (LockMode mode : k_all) {
      CHECK(*parse_lock_mode(sql_name(mode)) == mode);
      CHECK(*parse_lock_mode(pg_locks_name(mode)) == mode);
    }
    CHECK(sql_name(LockMode::share_update_exclusive) == "SHARE UPDATE EXCLUSIVE");
    CHECK(pg_locks_name(LockMode::share_update_exclusive) == "ShareUpdateExclusiveLock");
  }

  TEST_CASE("the conflict table is PostgreSQL's, and symmetric") {
    // Rows from the "Conflicting Lock Modes" table of the PostgreSQL manual: X = conflict.
    const char* const k_table[] = {
        ".......X",  // ACCESS SHARE
        "......XX",  // ROW SHARE
        "....XXXX",  // ROW EXCLUSIVE
        "...XXXXX",  // SHARE UPDATE EXCLUSIVE
        "..XX.XXX",  // SHARE
        "..XXXXXX",  // SHARE ROW EXCLUSIVE
        ".XXXXXXX",  // EXCLUSIVE
        "XXXXXXXX",  // ACCESS EXCLUSIVE
    };
    for (std::size_t a = 0; a < k_all.size(); ++a) {
      for (std::size_t b = 0; b < k_all.size(); ++b) {
        CAPTURE(sql_name(k_all[a]));
        CAPTURE(sql_name(k_all[b]));
        CHECK(conflicts(k_all[a], k_all[b]) == (k_table[a][b] == 'X'));
        CHECK(conflicts(k_all[a], k_all[b]) == conflicts(k_all[b], k_all[a]));
      }
    }
  }
}

}  // namespace
}  // namespace lockwatch
