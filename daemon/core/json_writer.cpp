#include "core/json_writer.hpp"

#include <cmath>
#include <cstdio>

namespace lockwatch {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF)
    length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF)
    length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4)
    length = 4;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  // Reject overlong forms, surrogates and code points past U+10FFFF.
  if (lead == 0xE0 && byte(i + 1) < 0xA0) return 0;
  if (lead == 0xED && byte(i + 1) > 0x9F) return 0;
  if (lead == 0xF0 && byte(i + 1) < 0x90) return 0;
  if (lead == 0xF4 && byte(i + 1) > 0x8F) return 0;
  return length;
}

void append_escaped(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      break;
  }
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
  out += buffer;
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_length(text, i);
      out += length == 0 ? std::string_view("\xEF\xBF\xBD") : text.substr(i, length);
      i += length == 0 ? 1 : length;
      continue;
    }
    if (c < 0x20 || c == '"' || c == '\\') {
      append_escaped(out, text[i]);
    } else {
      out += text[i];
    }
    ++i;
  }
  return out + "\"";
}

void JsonWriter::separate() {
  if (m_need_comma) m_out += ',';
  m_need_comma = true;
}

void JsonWriter::raw(std::string_view text) {
  separate();
  m_out += text;
}

JsonWriter& JsonWriter::begin_object() {
  raw("{");
  m_need_comma = false;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  m_out += '}';
  m_need_comma = true;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  raw("[");
  m_need_comma = false;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  m_out += ']';
  m_need_comma = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  raw(json_quote(name));
  m_out += ':';
  m_need_comma = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  raw(json_quote(text));
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  raw(std::to_string(number));
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  if (!std::isfinite(number)) return null();
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", number);
  raw(buffer);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  raw(flag ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::null() {
  raw("null");
  return *this;
}

}  // namespace lockwatch
