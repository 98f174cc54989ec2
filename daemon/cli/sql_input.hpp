#pragma once

#include <string>

namespace lockwatch {

// The SQL of --sql, or of --file (- for stdin); throws std::runtime_error naming the
// file when it cannot be read.
std::string read_sql_input(const std::string& sql, const std::string& file,
                           const std::string& command);

// True when `sql` holds nothing but whitespace and semicolons.
bool blank_sql(const std::string& sql);

}  // namespace lockwatch
