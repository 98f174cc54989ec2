#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/glob.hpp"

namespace lockwatch {
namespace {

TEST_SUITE("glob") {
  TEST_CASE("star matches any run, question mark one character, the rest literally") {
    struct Case {
      const char* pattern;
      const char* text;
      bool matches;
    };
    const Case cases[] = {
        // empty pattern and text
        {"", "", true},
        {"", "a", false},
        {"a", "", false},
        {"*", "", true},
        {"**", "", true},
        {"?", "", false},
        {"*?", "", false},
        // literals
        {"pg_dump", "pg_dump", true},
        {"pg_dump", "pg_dumpall", false},
        {"pg_dumpall", "pg_dump", false},
        {"pg_dump", "pg_dunp", false},
        {"API", "api", false},
        {"[ab]", "a", false},
        {"[ab]", "[ab]", true},
        {"10.0.0.7", "10.0.0.7", true},
        {"10.0.0.7", "10a0.0.7", false},
        // question mark
        {"?", "a", true},
        {"?", "ab", false},
        {"??", "a", false},
        {"a?c", "abc", true},
        {"a?c", "ac", false},
        {"a?c", "abbc", false},
        {"*?", "x", true},
        // one star
        {"*", "anything at all", true},
        {"web-*", "web-", true},
        {"web-*", "web-12", true},
        {"web-*", "api-web-12", false},
        {"*.internal", "db.internal", true},
        {"*.internal", "db.internal.example", false},
        {"a*c", "ac", true},
        {"a*c", "abbbc", true},
        {"a*c", "abbbcd", false},
        {"10.0.*", "10.0.0.7", true},
        {"10.0.*", "10.1.0.7", false},
        // several stars, with backtracking
        {"a*b*c", "axxbyyc", true},
        {"a*b*c", "axxcyyb", false},
        {"*a*b*", "xaxbx", true},
        {"*a*b*", "xbxax", false},
        {"*ab", "aab", true},
        {"*aab", "aaab", true},
        {"a*ab", "aab", true},
        {"*abc*abc", "abcabcabc", true},
        {"*abc*abd", "abcabcabc", false},
        {"*?*?*", "ab", true},
        {"*?*?*", "a", false},
        {"***x", "x", true},
        {"a**b", "ab", true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.pattern);
      CAPTURE(c.text);
      CHECK(glob_match(c.pattern, c.text) == c.matches);
    }
  }

  TEST_CASE("a question mark or star in the text is an ordinary character for a literal") {
    CHECK(glob_match("what?", "what?"));
    CHECK(glob_match("?", "*"));
    CHECK(glob_match("?", "?"));
    CHECK_FALSE(glob_match("a", "*"));
    CHECK_FALSE(glob_match("a", "?"));
  }

  TEST_CASE("a pathological pattern against a long run of one letter terminates quickly") {
    const std::string many_a(100'000, 'a');
    const auto started = std::chrono::steady_clock::now();

    CHECK_FALSE(glob_match("a*a*a*a*b", many_a));
    CHECK(glob_match("a*a*a*a*b", many_a + "b"));
    CHECK(glob_match("a*a*a*a*a", many_a));
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", many_a));

    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(elapsed < std::chrono::seconds(2));
  }

  TEST_CASE("glob_match_any is true when any pattern matches") {
    using Patterns = std::vector<std::string>;
    CHECK_FALSE(glob_match_any(Patterns{}, "api"));
    CHECK_FALSE(glob_match_any(Patterns{}, ""));
    CHECK(glob_match_any(Patterns{"*"}, ""));
    CHECK(glob_match_any(Patterns{"web-*", "api"}, "api"));
    CHECK(glob_match_any(Patterns{"web-*", "api"}, "web-3"));
    CHECK_FALSE(glob_match_any(Patterns{"web-*", "api"}, "apis"));
    CHECK_FALSE(glob_match_any(Patterns{""}, "api"));
    CHECK(glob_match_any(Patterns{""}, ""));
  }
}

}  // namespace
}  // namespace lockwatch
