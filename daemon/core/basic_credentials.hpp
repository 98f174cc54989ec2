#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lockwatch {

// The user and password of an HTTP Basic Authorization header (RFC 7617).
struct BasicCredentials {
  std::string user;
  std::string password;
};

// Parses an Authorization header value "Basic <base64 of user:password>" (the scheme is
// case-insensitive); nullopt for another scheme, bad base64 or a missing colon.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

}  // namespace lockwatch
