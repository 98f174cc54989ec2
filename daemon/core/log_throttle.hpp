#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "core/duration.hpp"

namespace lockwatch {

// Lets one event per window through to the log and counts the others, so that a flood
// (a password-guessing loop) writes one line per window. Thread-safe.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Duration window) : m_window(window) {}

  // When this event should be logged: how many were held back since the last logged one;
  // nullopt when it should only be counted.
  std::optional<std::uint64_t> admit(Clock::time_point now);

 private:
  const Duration m_window;
  std::mutex m_mutex;
  std::optional<Clock::time_point> m_last_logged;
  std::uint64_t m_held_back = 0;
};

}  // namespace lockwatch
