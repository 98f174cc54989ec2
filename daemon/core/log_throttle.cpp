#include "core/log_throttle.hpp"

namespace lockwatch {

std::optional<std::uint64_t> LogThrottle::admit(Clock::time_point now) {
  const std::lock_guard lock(m_mutex);
  if (m_last_logged && now - *m_last_logged < m_window) {
    ++m_held_back;
    return std::nullopt;
  }
  m_last_logged = now;
  const std::uint64_t held_back = m_held_back;
  m_held_back = 0;
  return held_back;
}

}  // namespace lockwatch
