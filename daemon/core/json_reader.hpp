#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"

namespace lockwatch {

// One JSON value, read by parse_json. Access is lenient, as reading a parse tree wants:
// a member that is absent, or a value of another kind, reads as null, false, 0, "" or
// an empty list, so optional fields need no checks.
class JsonValue {
 public:
  enum class Kind { null, boolean, number, string, array, object };

  JsonValue() = default;
  static JsonValue boolean_value(bool flag);
  static JsonValue number_value(double number, std::optional<std::int64_t> integer);
  static JsonValue string_value(std::string text);
  static JsonValue array_value(std::vector<JsonValue> items);
  static JsonValue object_value(std::vector<std::string> keys, std::vector<JsonValue> values);

  Kind kind() const { return m_kind; }
  bool is_null() const { return m_kind == Kind::null; }
  bool is_object() const { return m_kind == Kind::object; }
  bool is_array() const { return m_kind == Kind::array; }

  // The member `key` of an object; a null value when absent or not an object.
  const JsonValue& operator[](std::string_view key) const;
  bool has(std::string_view key) const;

  // An object's member names and values, in document order; an array's items.
  const std::vector<std::string>& keys() const { return m_keys; }
  const std::vector<JsonValue>& items() const { return m_items; }

  bool boolean() const { return m_kind == Kind::boolean && m_flag; }
  double number() const { return m_kind == Kind::number ? m_number : 0.0; }
  // The number when it is a whole number that fits; 0 otherwise.
  std::int64_t integer() const { return m_kind == Kind::number ? m_integer : 0; }
  const std::string& string() const { return m_text; }

 private:
  Kind m_kind = Kind::null;
  bool m_flag = false;
  double m_number = 0.0;
  std::int64_t m_integer = 0;
  std::string m_text;
  std::vector<std::string> m_keys;  // objects: member names
  std::vector<JsonValue> m_items;   // arrays: items; objects: member values
};

// Parses one JSON document (RFC 8259; nesting deeper than 2,000 is refused). Errors name
// the byte offset: "invalid JSON at offset 12: expected ':'".
Expected<JsonValue> parse_json(std::string_view text);

}  // namespace lockwatch
