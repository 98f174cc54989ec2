#pragma once

#include <string>

#include "core/expected.hpp"

namespace lockwatch {

// Parses `sql` with PostgreSQL's own parser (libpg_query: the raw parser of PostgreSQL
// 15) into its JSON parse tree, the input of classify_statements. A syntax error is an
// Error: "syntax error at or near \"TABLE\" (line 2, column 7)".
Expected<std::string> parse_sql(const std::string& sql);

}  // namespace lockwatch
