// libFuzzer target: the TOML config parser must return a Config or an Error naming the
// source, for any bytes, without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto config = lockwatch::parse_config(text, "fuzz.toml");
  if (!config && config.error().rfind("fuzz.toml:", 0) != 0) {
    std::fprintf(stderr, "error does not name the file: %s\n", config.error().c_str());
    std::abort();
  }
  return 0;
}
