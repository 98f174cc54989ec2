#pragma once

#include "core/duration.hpp"

namespace lockwatch {

// Jittered exponential backoff: the delay before reconnect attempt number `failures`.
class Backoff {
 public:
  Backoff(Duration base, Duration cap) : m_base(base), m_cap(cap) {}

  // The ceiling for the given number of consecutive failures: base * 2^(failures-1), capped.
  Duration ceiling(int failures) const;

  // A delay in [ceiling/2, ceiling], picked by `unit_random` in [0, 1) ("equal jitter"):
  // never zero, so a flapping server is not hammered, yet spread so restarts don't align.
  Duration delay(int failures, double unit_random) const;

 private:
  Duration m_base;
  Duration m_cap;
};

}  // namespace lockwatch
