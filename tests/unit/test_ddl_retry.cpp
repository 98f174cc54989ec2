#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/ddl_retry.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

DdlAttempt attempt(int number, AttemptResult result, Duration took, std::string blocked_by = "",
                   std::string error = "") {
  return DdlAttempt{number, result, took, std::move(blocked_by), std::move(error), ""};
}

TEST_SUITE("ddl retry") {
  TEST_CASE("--retry-delay reads a range or one fixed pause") {
    const auto range = parse_retry_delay("5s..60s");
    REQUIRE(range.has_value());
    CHECK(range->min == 5s);
    CHECK(range->max == 60s);
    const auto fixed = parse_retry_delay("500ms");
    REQUIRE(fixed.has_value());
    CHECK(fixed->min == 500ms);
    CHECK(fixed->max == 500ms);
    CHECK(parse_retry_delay("0s..0s").has_value());
  }

  TEST_CASE("--retry-delay refuses bad bounds and says which") {
    struct Case {
      const char* text;
      const char* error;
    };
    const Case cases[] = {
        {"60s..5s", "--retry-delay: the lower bound 1m exceeds the upper bound 5s"},
        {"5s..", "--retry-delay: invalid duration \"\": empty"},
        {"..5s", "--retry-delay: invalid duration \"\": empty"},
        {"5..60s", "--retry-delay: invalid duration \"5\": unknown or missing unit"},
        {"5s...60s", "--retry-delay: invalid duration \".60s\": expected a number"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto parsed = parse_retry_delay(c.text);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().starts_with(c.error));
    }
  }

  TEST_CASE("pauses double from the lower bound, jittered, and stay within the bounds") {
    const RetryDelay delay{5s, 60s};
    struct Case {
      int retry;
      double random;
      Duration expected;
    };
    const Case cases[] = {
        {1, 0.0, 5s},   {1, 0.99, 5s},  // the first retry waits exactly the lower bound
        {2, 0.0, 5s},   {2, 1.0, 10s},  {3, 0.0, 10s}, {3, 0.5, 15s},
        {4, 1.0, 40s},  {5, 0.0, 30s},  {5, 1.0, 60s},  // capped at the upper bound
        {50, 0.0, 30s}, {50, 1.0, 60s},
    };
    for (const Case& c : cases) {
      CAPTURE(c.retry);
      CAPTURE(c.random);
      CHECK(retry_pause(delay, c.retry, c.random) == c.expected);
    }
    for (int retry = 1; retry < 40; ++retry) {
      for (double random : {0.0, 0.3, 0.7, 0.999}) {
        const Duration pause = retry_pause(RetryDelay{700ms, 3s}, retry, random);
        CHECK(pause >= 700ms);
        CHECK(pause <= 3s);
      }
    }
    CHECK(retry_pause(RetryDelay{2s, 2s}, 7, 0.5) == 2s);
  }

  TEST_CASE("each attempt is described in one line") {
    CHECK(describe_attempt(attempt(1, AttemptResult::lock_timeout, 2003ms,
                                   "65365 (api, idle in transaction 312s)")) ==
          "attempt 1: lock timeout after 2.0s (blocked by 65365 (api, idle in transaction 312s))");
    CHECK(describe_attempt(attempt(2, AttemptResult::lock_timeout, 1500ms)) ==
          "attempt 2: lock timeout after 1.5s");
    CHECK(describe_attempt(attempt(3, AttemptResult::done, 40ms)) == "attempt 3: done in 40ms");
    CHECK(describe_attempt(attempt(1, AttemptResult::error, 4ms, "", "ERROR: syntax error")) ==
          "attempt 1: failed after 4ms: ERROR: syntax error");
  }

  TEST_CASE("the summary follows the last attempt") {
    const std::vector<DdlAttempt> done = {attempt(1, AttemptResult::lock_timeout, 2s),
                                          attempt(2, AttemptResult::lock_timeout, 2s),
                                          attempt(3, AttemptResult::done, 10ms)};
    CHECK(summarise_attempts(done, 14200ms) == "done after 3 attempts in 14s");
    const std::vector<DdlAttempt> once = {attempt(1, AttemptResult::done, 10ms)};
    CHECK(summarise_attempts(once, 10ms) == "done after 1 attempt in 10ms");
    const std::vector<DdlAttempt> gave_up = {attempt(1, AttemptResult::lock_timeout, 2s),
                                             attempt(2, AttemptResult::lock_timeout, 2s)};
    CHECK(summarise_attempts(gave_up, 65s) == "gave up after 2 attempts in 1m5s");
    const std::vector<DdlAttempt> failed = {attempt(1, AttemptResult::error, 3ms)};
    CHECK(summarise_attempts(failed, 3ms) == "failed on attempt 1 in 3ms");
    const std::vector<DdlAttempt> deadlocked = {attempt(1, AttemptResult::deadlock, 1s)};
    CHECK(summarise_attempts(deadlocked, 1s) == "gave up after 1 attempt in 1.0s");
    const std::vector<DdlAttempt> stopped = {attempt(1, AttemptResult::lock_timeout, 1s),
                                             attempt(2, AttemptResult::interrupted, 300ms)};
    CHECK(summarise_attempts(stopped, 3100ms) == "interrupted on attempt 2 in 3.1s");
  }

  TEST_CASE("deadlocks are retried like lock timeouts; errors and interruptions are not") {
    CHECK(retryable(AttemptResult::lock_timeout));
    CHECK(retryable(AttemptResult::deadlock));
    CHECK_FALSE(retryable(AttemptResult::error));
    CHECK_FALSE(retryable(AttemptResult::interrupted));
    CHECK_FALSE(retryable(AttemptResult::done));
    CHECK(describe_attempt(attempt(2, AttemptResult::deadlock, 1100ms, "65365 (api, active 3s)")) ==
          "attempt 2: deadlock after 1.1s, PostgreSQL chose this DDL to end (waiting behind "
          "65365 (api, active 3s))");
    CHECK(describe_attempt(attempt(3, AttemptResult::interrupted, 800ms)) ==
          "attempt 3: interrupted after 800ms: the statement was cancelled on the server");
  }

  TEST_CASE("--max-wait: pauses and lock timeouts are cut to fit, and no attempt starts "
            "without 50ms left") {
    struct Case {
      Duration max_wait, elapsed, pause, lock_timeout;
      bool allowed;
      Duration expected_pause, expected_lock_timeout;
    };
    const Case cases[] = {
        {0s, 100s, 5s, 2s, true, 5s, 2s},            // no budget
        {10s, 0s, 0s, 2s, true, 0s, 2s},             // the first attempt, plenty left
        {10s, 1s, 0s, 20s, true, 0s, 9s},            // a lock_timeout longer than the budget
        {10s, 4s, 5s, 2s, true, 5s, 1s},             // the pause fits; the attempt gets 1s
        {10s, 8s, 5s, 2s, true, 1950ms, 50ms},       // the pause is cut to leave 50ms
        {10s, 9960ms, 0s, 2s, false, 0s, 0s},        // 40ms left: not worth an attempt
        {10s, 12s, 5s, 2s, false, 0s, 0s},           // overspent
    };
    for (const Case& c : cases) {
      CAPTURE(c.elapsed.count());
      const NextAttempt next = plan_attempt(c.max_wait, c.elapsed, c.pause, c.lock_timeout);
      CHECK(next.allowed == c.allowed);
      CHECK(next.pause == c.expected_pause);
      CHECK(next.lock_timeout == c.expected_lock_timeout);
    }
  }
}

}  // namespace
}  // namespace lockwatch
