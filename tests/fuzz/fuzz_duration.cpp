// libFuzzer target: durations parse or fail cleanly, and what parses round-trips through
// format_duration.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/duration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = lockwatch::parse_duration(text);
  if (!parsed) return 0;
  const auto again = lockwatch::parse_duration(lockwatch::format_duration(*parsed));
  if (!again || *again != *parsed) {
    std::fprintf(stderr, "round trip failed for %lld ms\n",
                 static_cast<long long>(parsed->count()));
    std::abort();
  }
  return 0;
}
