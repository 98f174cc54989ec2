// libFuzzer target: any bytes parse as an array literal without crashing, and a list of
// elements written the way array_out writes them (every element quoted) reads back as it
// was.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/pg_array.hpp"

namespace {

std::string quoted_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ",";
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)lockwatch::parse_text_array(text);
  (void)lockwatch::parse_int_array(text);
  (void)lockwatch::parse_bool_array(text);
  // The input, split on NUL bytes, as the elements of a literal that must round-trip.
  std::vector<std::string> items;
  std::string current;
  for (char c : text) {
    if (c == '\0') {
      items.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  items.push_back(current);
  const auto back = lockwatch::parse_text_array(quoted_literal(items));
  bool same = back.size() == items.size();
  for (std::size_t i = 0; same && i < items.size(); ++i) same = back[i] && *back[i] == items[i];
  if (!same) {
    std::fprintf(stderr, "round trip failed for %zu elements\n", items.size());
    std::abort();
  }
  return 0;
}
