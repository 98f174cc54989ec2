#pragma once

#include <string>
#include <string_view>

namespace lockwatch {

// Returns the libpq connection string (key=value conninfo or postgres:// / postgresql:// URI)
// with every password replaced by `***`, for logging.
std::string mask_dsn(std::string_view dsn);

// Returns `text` with every occurrence of `secret` replaced by `***` (no-op when secret is empty).
std::string mask_secret(std::string_view text, std::string_view secret);

}  // namespace lockwatch
