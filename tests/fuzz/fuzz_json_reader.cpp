// libFuzzer target: the JSON reader accepts or refuses any bytes without crashing, and
// never recurses without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto value = lockwatch::parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (value) (void)(*value)["stmts"].items().size();
  return 0;
}
