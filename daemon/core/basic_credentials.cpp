#include "core/basic_credentials.hpp"

#include <algorithm>
#include <cctype>

#include "core/base64.hpp"

namespace lockwatch {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  header = trim_spaces(header);
  const auto space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "Basic")) {
    return std::nullopt;
  }
  const auto decoded = decode_base64(trim_spaces(header.substr(space)));
  // The user-id cannot contain a colon (RFC 7617), so the first one ends it; the
  // password may contain more.
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace lockwatch
