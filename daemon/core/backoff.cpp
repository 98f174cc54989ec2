#include "core/backoff.hpp"

#include <algorithm>

namespace lockwatch {

Duration Backoff::ceiling(int failures) const {
  if (failures <= 0) return Duration{0};
  Duration value = m_base;
  for (int i = 1; i < failures && value < m_cap; ++i) value *= 2;
  return std::min(value, m_cap);
}

Duration Backoff::delay(int failures, double unit_random) const {
  const Duration top = ceiling(failures);
  const double fraction = std::clamp(unit_random, 0.0, 1.0);
  const auto half = top.count() / 2;
  const auto picked =
      half + static_cast<Duration::rep>(static_cast<double>(top.count() - half) * fraction);
  return Duration{std::max<Duration::rep>(picked, failures > 0 ? 1 : 0)};
}

}  // namespace lockwatch
