#pragma once

#include <string_view>

namespace lockwatch {

// True when `secret` and `given` are equal; the time taken depends on the length of
// `secret` only, never on where (or whether) the two differ.
bool constant_time_equals(std::string_view secret, std::string_view given);

}  // namespace lockwatch
