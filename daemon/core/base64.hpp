#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lockwatch {

// Decodes standard base64 (RFC 4648 alphabet, '=' padding to a multiple of four
// characters); nullopt for any other character, misplaced padding or a bad length.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace lockwatch
