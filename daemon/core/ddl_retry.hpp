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

// How one attempt of a DDL ended.
enum class AttemptResult { done, lock_timeout, error };

struct DdlAttempt {
  int number = 0;  // 1-based
  AttemptResult result = AttemptResult::done;
  Duration took{0};
  std::string blocked_by;  // who held it up, as last seen; empty when never seen waiting
  std::string error;       // the server's message for AttemptResult::error
};

// "attempt 2: lock timeout after 2s (blocked by 65365 (api, idle in transaction 312s))".
std::string describe_attempt(const DdlAttempt& attempt);

// "done after 3 attempts in 14s", "gave up after 11 attempts in 2m5s" or
// "failed on attempt 1 in 0s"; from the last attempt's result.
std::string summarise_attempts(std::span<const DdlAttempt> attempts, Duration total);

}  // namespace lockwatch
