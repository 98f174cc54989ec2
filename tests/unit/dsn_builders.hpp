#pragma once

// Builds DSNs around a secret, for the DSN-masking unit tests and fuzz target.

#include <string>
#include <string_view>

namespace lockwatch::testing {

// Quotes `value` the way libpq expects inside a conninfo string.
inline std::string conninfo_quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

// Percent-encodes every byte that is not unreserved in a URI.
inline std::string percent_encode(std::string_view value) {
  constexpr std::string_view k_hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (plain) {
      out.push_back(c);
    } else {
      out += {'%', k_hex[byte >> 4U], k_hex[byte & 0xFU]};
    }
  }
  return out;
}

}  // namespace lockwatch::testing
