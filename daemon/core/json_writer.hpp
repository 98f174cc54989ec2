#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lockwatch {

// Appends JSON to a string: objects, arrays, scalars. Keys and strings are escaped, and
// invalid UTF-8 becomes U+FFFD, so the output is valid JSON whatever the input bytes.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(std::int64_t{number}); }
  JsonWriter& value(double number);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  const std::string& str() const { return m_out; }

 private:
  void separate();
  void raw(std::string_view text);

  std::string m_out;
  bool m_need_comma = false;
};

// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

}  // namespace lockwatch
