#include "core/duration.hpp"

#include <cstdint>
#include <limits>

namespace lockwatch {
namespace {

constexpr std::int64_t k_max_ms = std::int64_t{1} << 50;  // ~35,000 years

// Milliseconds per unit, or 0 for an unknown unit.
std::int64_t unit_ms(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  return 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return c >= 'a' && c <= 'z';
}

Error bad(std::string_view text, std::string_view why) {
  return Error{"invalid duration \"" + std::string(text) + "\": " + std::string(why) +
               " (use e.g. 500ms, 5s, 2m, 1m30s)"};
}

}  // namespace

Expected<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t number = 0;
    const std::size_t digits_at = i;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      number = number * 10 + (text[i] - '0');
      if (number > k_max_ms) return bad(text, "too large");
    }
    if (i == digits_at) return bad(text, "expected a number");
    const std::size_t unit_at = i;
    while (i < text.size() && is_alpha(text[i])) ++i;
    const std::int64_t per_unit = unit_ms(text.substr(unit_at, i - unit_at));
    if (per_unit == 0) return bad(text, "unknown or missing unit");
    // Checked before multiplying: "3000000000000h" must not wrap around.
    if (number > (k_max_ms - total) / per_unit) return bad(text, "too large");
    total += number * per_unit;
    if (total > k_max_ms) return bad(text, "too large");
  }
  return Duration{total};
}

std::string format_duration(Duration duration) {
  std::int64_t ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  for (auto [unit, per] : {std::pair{"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}) {
    if (ms >= per) {
      out += std::to_string(ms / per) + unit;
      ms %= per;
    }
  }
  return out;
}

}  // namespace lockwatch
