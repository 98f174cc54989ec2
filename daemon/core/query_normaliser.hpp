#pragma once

#include <string>
#include <string_view>

namespace lockwatch {

// Returns `sql` with every literal replaced by `?` and comments removed, so the text can
// reach logs, JSON and metrics without leaking values (passwords in queries etc.).
std::string normalise_query(std::string_view sql);

}  // namespace lockwatch
