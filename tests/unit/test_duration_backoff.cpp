#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/backoff.hpp"
#include "core/duration.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

TEST_SUITE("duration") {
  TEST_CASE("parse_duration reads whole numbers with units ms, s, m and h") {
    struct Case {
      const char* text;
      Duration expected;
    };
    const Case cases[] = {
        {"0s", 0ms},
        {"0ms", 0ms},
        {"1ms", 1ms},
        {"500ms", 500ms},
        {"5s", 5s},
        {"90s", 90s},
        {"2m", 2min},
        {"1h", 1h},
        {"1m30s", 90s},
        {"1h2m3s4ms", 1h + 2min + 3s + 4ms},
        {"007s", 7s},
        {"1125899906842624ms", Duration{1125899906842624}},  // 2^50 ms, the largest accepted
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto parsed = parse_duration(c.text);
      const std::string error = parsed ? std::string() : parsed.error();
      INFO("error: ", error);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == c.expected);
    }
  }

  TEST_CASE("parse_duration rejects anything else and says why") {
    struct Case {
      const char* text;
      const char* why;
    };
    const Case cases[] = {
        {"", "empty"},
        {"5", "unknown or missing unit"},
        {"s", "expected a number"},
        {"5x", "unknown or missing unit"},
        {"5sec", "unknown or missing unit"},
        {"5S", "unknown or missing unit"},
        {"-1s", "expected a number"},
        {"+1s", "expected a number"},
        {"1.5s", "unknown or missing unit"},
        {"1m30", "unknown or missing unit"},
        {" 5s", "expected a number"},
        {"5s ", "expected a number"},
        {"5 s", "unknown or missing unit"},
        {"1125899906842625ms", "too large"},
        {"1125899906842624s", "too large"},
        {"2000000000000h", "too large"},
        {"99999999999999999999s", "too large"},
        {"18446744073709551617ms", "too large"},  // 2^64 + 1
        {"99999999999999999999999999999999999999ms", "too large"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto parsed = parse_duration(c.text);
      REQUIRE_FALSE(parsed.has_value());
      CAPTURE(parsed.error());
      CHECK(parsed.error().starts_with("invalid duration \"" + std::string(c.text) + "\": "));
      CHECK(parsed.error().find(c.why) != std::string::npos);
    }
  }

  TEST_CASE("a parse_duration error suggests valid forms") {
    const auto parsed = parse_duration("5x");
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() ==
          "invalid duration \"5x\": unknown or missing unit (use e.g. 500ms, 5s, 2m, 1m30s)");
  }

  TEST_CASE("format_duration writes the largest units first and skips zero parts") {
    struct Case {
      Duration duration;
      const char* expected;
    };
    const Case cases[] = {
        {0ms, "0s"},
        {1ms, "1ms"},
        {500ms, "500ms"},
        {1s, "1s"},
        {1001ms, "1s1ms"},
        {90s, "1m30s"},
        {2min, "2m"},
        {1h, "1h"},
        {61min, "1h1m"},
        {25h, "25h"},
        {1h + 2min + 3s + 4ms, "1h2m3s4ms"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.expected);
      CHECK(format_duration(c.duration) == c.expected);
    }
  }

  TEST_CASE("format_duration and parse_duration round trip") {
    const std::vector<Duration> durations = {0ms,   1ms, 999ms, 1s,  59s, 60s,      61s,
                                             100ms, 2s,  90min, 24h, 36h, 3723004ms};
    for (const Duration d : durations) {
      const std::string text = format_duration(d);
      CAPTURE(text);
      const auto parsed = parse_duration(text);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == d);
    }
    for (const char* text : {"500ms", "5s", "2m", "1m30s", "1h", "2h30m", "1h0m1s"}) {
      CAPTURE(text);
      const auto parsed = parse_duration(text);
      REQUIRE(parsed.has_value());
      const auto again = parse_duration(format_duration(*parsed));
      REQUIRE(again.has_value());
      CHECK(*again == *parsed);
    }
  }
}

TEST_SUITE("backoff") {
  TEST_CASE("the ceiling doubles from the base with each failure, up to the cap") {
    const Backoff backoff(100ms, 5s);
    struct Case {
      int failures;
      Duration expected;
    };
    const Case cases[] = {
        {-1, 0ms},   {0, 0ms},    {1, 100ms}, {2, 200ms}, {3, 400ms}, {4, 800ms},
        {5, 1600ms}, {6, 3200ms}, {7, 5s},    {8, 5s},    {100, 5s},  {1'000'000, 5s},
    };
    for (const Case& c : cases) {
      CAPTURE(c.failures);
      CHECK(backoff.ceiling(c.failures) == c.expected);
    }
  }

  TEST_CASE("a cap below the base caps the first delay too") {
    const Backoff backoff(1s, 500ms);
    CHECK(backoff.ceiling(1) == 500ms);
    CHECK(backoff.ceiling(5) == 500ms);
  }

  TEST_CASE("the delay lies in [ceiling/2, ceiling] and grows with the random draw") {
    const Backoff backoff(100ms, 30s);
    for (int failures = 1; failures <= 12; ++failures) {
      CAPTURE(failures);
      const Duration top = backoff.ceiling(failures);
      Duration previous{0};
      for (const double unit_random : {0.0, 0.5, 0.999}) {
        CAPTURE(unit_random);
        const Duration d = backoff.delay(failures, unit_random);
        CHECK(d >= top / 2);
        CHECK(d <= top);
        CHECK(d > 0ms);
        CHECK(d >= previous);
        previous = d;
      }
    }
  }

  TEST_CASE("the delay is exactly half the ceiling at 0 and three quarters at 0.5") {
    const Backoff backoff(1s, 1min);
    CHECK(backoff.delay(1, 0.0) == 500ms);
    CHECK(backoff.delay(1, 0.5) == 750ms);
    CHECK(backoff.delay(3, 0.0) == 2s);
    CHECK(backoff.delay(3, 0.5) == 3s);
    CHECK(backoff.delay(3, 0.999) > 3990ms);
    CHECK(backoff.delay(3, 0.999) < 4s);
  }

  TEST_CASE("a random draw outside [0, 1) is clamped into range") {
    const Backoff backoff(1s, 1min);
    CHECK(backoff.delay(2, -3.0) == 1s);
    CHECK(backoff.delay(2, 7.0) == 2s);
  }

  TEST_CASE("no failures means no delay") {
    const Backoff backoff(1s, 1min);
    CHECK(backoff.delay(0, 0.5) == 0ms);
  }
}

}  // namespace
}  // namespace lockwatch
