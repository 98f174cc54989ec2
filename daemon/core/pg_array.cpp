#include "core/pg_array.hpp"

#include <charconv>

namespace lockwatch {
namespace {

// Reads one element starting at `p` (just after '{' or ','); leaves `p` on the ',' or '}'
// that ends it.
std::optional<std::string> read_element(const char*& p, const char* end) {
  std::string text;
  if (p < end && *p == '"') {
    for (++p; p < end && *p != '"'; ++p) {
      if (*p == '\\' && p + 1 < end) ++p;
      text += *p;
    }
    if (p < end) ++p;  // the closing quote
    while (p < end && *p != ',' && *p != '}') ++p;
    return text;
  }
  while (p < end && *p != ',' && *p != '}') text += *p++;
  if (text == "NULL") return std::nullopt;
  return text;
}

}  // namespace

std::vector<std::optional<std::string>> parse_text_array(std::string_view literal) {
  std::vector<std::optional<std::string>> out;
  const char* p = literal.data();
  const char* end = p + literal.size();
  if (p == end || *p != '{') return out;
  ++p;
  if (p < end && *p == '}') return out;
  while (p < end) {
    out.push_back(read_element(p, end));
    if (p >= end || *p == '}') break;
    ++p;  // the comma
  }
  return out;
}

std::vector<std::optional<std::int64_t>> parse_int_array(std::string_view literal) {
  std::vector<std::optional<std::int64_t>> out;
  for (const auto& element : parse_text_array(literal)) {
    std::int64_t value = 0;
    if (element) {
      const char* first = element->data();
      const char* last = first + element->size();
      const auto [ptr, error] = std::from_chars(first, last, value);
      if (error == std::errc() && ptr == last) {
        out.emplace_back(value);
        continue;
      }
    }
    out.emplace_back(std::nullopt);
  }
  return out;
}

std::vector<bool> parse_bool_array(std::string_view literal) {
  std::vector<bool> out;
  for (const auto& element : parse_text_array(literal)) out.push_back(element && *element == "t");
  return out;
}

}  // namespace lockwatch
