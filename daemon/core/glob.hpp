#pragma once

#include <string_view>
#include <vector>

namespace lockwatch {

// Shell-style match: `*` any run of characters, `?` one character, everything else literal.
bool glob_match(std::string_view pattern, std::string_view text);

// True when any pattern matches `text`.
bool glob_match_any(const std::vector<std::string>& patterns, std::string_view text);

}  // namespace lockwatch
