#include "core/ddl_retry.hpp"

#include <algorithm>

#include "core/backoff.hpp"

namespace lockwatch {
namespace {

std::string attempts_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " attempt" : " attempts");
}

// "350ms", "1.5s", then whole seconds from ten seconds on ("14s", "1m5s"): precise where
// it is compared with a short lock_timeout, short where it is not.
std::string took_text(Duration d) {
  if (d < std::chrono::seconds(1)) return std::to_string(d.count()) + "ms";
  if (d >= std::chrono::seconds(10)) return format_duration(d - d % 1000);
  const auto tenths = (d.count() + 50) / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
}

}  // namespace

Expected<RetryDelay> parse_retry_delay(std::string_view text) {
  const auto dots = text.find("..");
  const auto min = parse_duration(text.substr(0, dots));
  if (!min) return Error{"--retry-delay: " + min.error()};
  if (dots == std::string_view::npos) return RetryDelay{*min, *min};
  const auto max = parse_duration(text.substr(dots + 2));
  if (!max) return Error{"--retry-delay: " + max.error()};
  if (*min > *max) {
    return Error{"--retry-delay: the lower bound " + format_duration(*min) +
                 " exceeds the upper bound " + format_duration(*max)};
  }
  return RetryDelay{*min, *max};
}

Duration retry_pause(const RetryDelay& delay, int retry, double unit_random) {
  // Backoff's equal jitter lands in [ceiling/2, ceiling]; the floor keeps it above min, so
  // the first retry waits exactly min and later ones spread between min and the ceiling.
  const Duration pause = Backoff(delay.min, delay.max).delay(retry, unit_random);
  return std::clamp(pause, delay.min, delay.max);
}

bool retryable(AttemptResult result) {
  return result == AttemptResult::lock_timeout || result == AttemptResult::deadlock;
}

NextAttempt plan_attempt(Duration max_wait, Duration elapsed, Duration pause,
                         Duration lock_timeout) {
  if (max_wait.count() <= 0) return NextAttempt{true, pause, lock_timeout};
  const Duration left = max_wait - elapsed;
  if (left < k_min_attempt) return NextAttempt{false, Duration{0}, Duration{0}};
  const Duration cut_pause = std::min(pause, left - k_min_attempt);
  return NextAttempt{true, cut_pause, std::min(lock_timeout, left - cut_pause)};
}

std::string describe_attempt(const DdlAttempt& a) {
  std::string text =
      "attempt " + std::to_string(a.number) + ": " + (a.step.empty() ? "" : a.step + ": ");
  switch (a.result) {
    case AttemptResult::done:
      return text + "done in " + took_text(a.took);
    case AttemptResult::lock_timeout:
      text += "lock timeout after " + took_text(a.took);
      return a.blocked_by.empty() ? text : text + " (blocked by " + a.blocked_by + ")";
    case AttemptResult::deadlock:
      text += "deadlock after " + took_text(a.took) + ", PostgreSQL chose this DDL to end";
      return a.blocked_by.empty() ? text : text + " (waiting behind " + a.blocked_by + ")";
    case AttemptResult::error:
      return text + "failed after " + took_text(a.took) + ": " + a.error;
    case AttemptResult::interrupted:
      return text + "interrupted after " + took_text(a.took) +
             ": the statement was cancelled on the server";
  }
  return text;
}

std::string summarise_attempts(std::span<const DdlAttempt> attempts, Duration total) {
  if (attempts.empty()) return "nothing attempted";
  const std::string in = " in " + took_text(total);
  switch (attempts.back().result) {
    case AttemptResult::done:
      return "done after " + attempts_text(attempts.size()) + in;
    case AttemptResult::lock_timeout:
    case AttemptResult::deadlock:
      return "gave up after " + attempts_text(attempts.size()) + in;
    case AttemptResult::error:
      return "failed on attempt " + std::to_string(attempts.back().number) + in;
    case AttemptResult::interrupted:
      return "interrupted on attempt " + std::to_string(attempts.back().number) + in;
  }
  return "";
}

}  // namespace lockwatch
