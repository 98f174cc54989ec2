#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace lockwatch {

using Duration = std::chrono::milliseconds;

// Parses "500ms", "5s", "2m", "1h" or "1m30s" (whole numbers, units ms/s/m/h) into a duration.
Expected<Duration> parse_duration(std::string_view text);

// Formats a duration the way parse_duration reads it, e.g. 90000ms -> "1m30s".
std::string format_duration(Duration duration);

}  // namespace lockwatch
