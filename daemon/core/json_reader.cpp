#include "core/json_reader.hpp"

#include <charconv>
#include <cstdlib>

namespace lockwatch {
namespace {

constexpr int k_max_depth = 2'000;

const JsonValue& null_value() {
  static const JsonValue k_null;
  return k_null;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// A recursive-descent reader over `m_text`; the first error stops it.
class Reader {
 public:
  explicit Reader(std::string_view text) : m_text(text) {}

  Expected<JsonValue> document() {
    JsonValue value = read_value(0);
    skip_space();
    if (m_error.empty() && m_pos != m_text.size()) fail("unexpected text after the value");
    if (!m_error.empty()) return Error{m_error};
    return value;
  }

 private:
  void fail(const std::string& why) {
    if (m_error.empty()) m_error = "invalid JSON at offset " + std::to_string(m_pos) + ": " + why;
  }

  void skip_space() {
    while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                     m_text[m_pos] == '\n' || m_text[m_pos] == '\r')) {
      ++m_pos;
    }
  }

  bool take(char c) {
    skip_space();
    if (m_pos < m_text.size() && m_text[m_pos] == c) {
      ++m_pos;
      return true;
    }
    return false;
  }

  bool expect(char c) {
    if (take(c)) return true;
    fail(std::string("expected '") + c + "'");
    return false;
  }

  bool literal(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word) return false;
    m_pos += word.size();
    return true;
  }

  JsonValue read_value(int depth) {
    if (depth > k_max_depth) {
      fail("nested too deeply");
      return {};
    }
    skip_space();
    if (m_pos >= m_text.size()) {
      fail("unexpected end of input");
      return {};
    }
    const char c = m_text[m_pos];
    if (c == '{') return read_object(depth);
    if (c == '[') return read_array(depth);
    if (c == '"') return JsonValue::string_value(read_string());
    if (literal("true")) return JsonValue::boolean_value(true);
    if (literal("false")) return JsonValue::boolean_value(false);
    if (literal("null")) return {};
    return read_number();
  }

  JsonValue read_object(int depth) {
    ++m_pos;
    std::vector<std::string> keys;
    std::vector<JsonValue> values;
    if (take('}')) return JsonValue::object_value({}, {});
    do {
      skip_space();
      if (m_pos >= m_text.size() || m_text[m_pos] != '"') {
        fail("expected a member name");
        return {};
      }
      keys.push_back(read_string());
      if (!expect(':')) return {};
      values.push_back(read_value(depth + 1));
      if (!m_error.empty()) return {};
    } while (take(','));
    if (!expect('}')) return {};
    return JsonValue::object_value(std::move(keys), std::move(values));
  }

  JsonValue read_array(int depth) {
    ++m_pos;
    std::vector<JsonValue> items;
    if (take(']')) return JsonValue::array_value({});
    do {
      items.push_back(read_value(depth + 1));
      if (!m_error.empty()) return {};
    } while (take(','));
    if (!expect(']')) return {};
    return JsonValue::array_value(std::move(items));
  }

  std::uint32_t read_hex4() {
    std::uint32_t code = 0;
    const char* begin = m_text.data() + m_pos;
    const auto [end, error] =
        std::from_chars(begin, begin + std::min<std::size_t>(4, m_text.size() - m_pos), code, 16);
    if (error != std::errc() || end != begin + 4) {
      fail("invalid \\u escape");
      return 0;
    }
    m_pos += 4;
    return code;
  }

  std::uint32_t read_escaped_code() {
    std::uint32_t code = read_hex4();
    if (code >= 0xD800 && code < 0xDC00 && literal("\\u")) {
      const std::uint32_t low = read_hex4();
      if (low >= 0xDC00 && low < 0xE000) return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    return code >= 0xD800 && code < 0xE000 ? 0xFFFD : code;
  }

  void read_escape(std::string& out) {
    if (m_pos >= m_text.size()) return fail("unterminated string");
    const char c = m_text[m_pos++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        return append_utf8(out, read_escaped_code());
      default:
        return fail("invalid escape");
    }
  }

  std::string read_string() {
    ++m_pos;  // the opening quote
    std::string out;
    while (m_error.empty()) {
      if (m_pos >= m_text.size()) {
        fail("unterminated string");
        break;
      }
      const char c = m_text[m_pos++];
      if (c == '"') break;
      if (c == '\\') {
        read_escape(out);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        fail("control character in a string");
      } else {
        out += c;
      }
    }
    return out;
  }

  JsonValue read_number() {
    const std::size_t start = m_pos;
    if (m_pos < m_text.size() && m_text[m_pos] == '-') ++m_pos;
    bool whole = true;
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos];
      if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        whole = false;
      } else if (c < '0' || c > '9') {
        break;
      }
      ++m_pos;
    }
    const std::string text(m_text.substr(start, m_pos - start));
    char* end = nullptr;
    const double number = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
    if (text.empty() || text == "-" || end != text.c_str() + text.size()) {
      m_pos = start;
      fail("expected a value");
      return {};
    }
    std::int64_t integer = 0;
    std::optional<std::int64_t> exact;
    if (whole &&
        std::from_chars(text.data(), text.data() + text.size(), integer).ec == std::errc()) {
      exact = integer;
    }
    return JsonValue::number_value(number, exact);
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
  std::string m_error;
};

}  // namespace

JsonValue JsonValue::boolean_value(bool flag) {
  JsonValue v;
  v.m_kind = Kind::boolean;
  v.m_flag = flag;
  return v;
}

JsonValue JsonValue::number_value(double number, std::optional<std::int64_t> integer) {
  JsonValue v;
  v.m_kind = Kind::number;
  v.m_number = number;
  v.m_integer = integer.value_or(0);
  return v;
}

JsonValue JsonValue::string_value(std::string text) {
  JsonValue v;
  v.m_kind = Kind::string;
  v.m_text = std::move(text);
  return v;
}

JsonValue JsonValue::array_value(std::vector<JsonValue> items) {
  JsonValue v;
  v.m_kind = Kind::array;
  v.m_items = std::move(items);
  return v;
}

JsonValue JsonValue::object_value(std::vector<std::string> keys, std::vector<JsonValue> values) {
  JsonValue v;
  v.m_kind = Kind::object;
  v.m_keys = std::move(keys);
  v.m_items = std::move(values);
  return v;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  if (m_kind != Kind::object) return null_value();
  for (std::size_t i = 0; i < m_keys.size(); ++i) {
    if (m_keys[i] == key) return m_items[i];
  }
  return null_value();
}

bool JsonValue::has(std::string_view key) const {
  if (m_kind != Kind::object) return false;
  for (const std::string& k : m_keys) {
    if (k == key) return true;
  }
  return false;
}

Expected<JsonValue> parse_json(std::string_view text) {
  return Reader(text).document();
}

}  // namespace lockwatch
