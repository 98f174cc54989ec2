#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.hpp"
#include "core/expected.hpp"

namespace lockwatch {

// The bounds of the pause between DDL attempts.
struct RetryDelay {
  Duration min = std::chrono::seconds(5);
  Duration max = std::chrono::seconds(60);
};

// Reads "5s..60s" (a range) or "5s" (a fixed pause); min must not exceed max.
Expected<RetryDelay> parse_retry_delay(std::string_view text);

// The pause before retry number `retry` (1 = the first retry): doubling from min, capped at
// max, with equal jitter picked by `unit_random` in [0, 1), and never below min.
Duration retry_pause(const RetryDelay& delay, int retry, double unit_random);

// How one attempt of a DDL ended. Lock timeouts and deadlocks are retried.
enum class AttemptResult { done, lock_timeout, deadlock, error, interrupted };

bool retryable(AttemptResult result);

// What --max-wait leaves for the next attempt: whether to make it at all (not with less
// than k_min_attempt left), the pause before it (cut to leave k_min_attempt) and its
// lock_timeout (cut to what is left after the pause). A zero budget is no budget.
struct NextAttempt {
  bool allowed = true;
  Duration pause{0};
  Duration lock_timeout{0};
};
constexpr Duration k_min_attempt = std::chrono::milliseconds(50);
NextAttempt plan_attempt(Duration max_wait, Duration elapsed, Duration pause,
                         Duration lock_timeout);

struct DdlAttempt {
  int number = 0;  // 1-based
  AttemptResult result = AttemptResult::done;
  Duration took{0};
  std::string blocked_by;  // who held it up, as last seen; empty when never seen waiting
  std::string error;       // the server's message for AttemptResult::error and deadlock
  std::string step;        // what it was doing, when not running the SQL itself
};

// "attempt 2: lock timeout after 2s (blocked by 65365 (api, idle in transaction 312s))".
std::string describe_attempt(const DdlAttempt& attempt);

// "done after 3 attempts in 14s", "gave up after 11 attempts in 2m5s", "failed on
// attempt 1 in 0s" or "interrupted on attempt 2 in 3.1s"; from the last attempt's result.
std::string summarise_attempts(std::span<const DdlAttempt> attempts, Duration total);

}  // namespace lockwatch
