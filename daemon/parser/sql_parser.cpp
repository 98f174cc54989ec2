#include "parser/sql_parser.hpp"

#include <pg_query.h>

#include <memory>

namespace lockwatch {
namespace {

// "line 2, column 7" for a 1-based character position in `sql` (libpg_query counts bytes).
std::string position_text(const std::string& sql, int cursor) {
  int line = 1;
  int column = 1;
  for (int i = 0; i + 1 < cursor && i < static_cast<int>(sql.size()); ++i) {
    if (sql[static_cast<std::size_t>(i)] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(sql[static_cast<std::size_t>(i)]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

Expected<std::string> parse_sql(const std::string& sql) {
  const PgQueryParseResult result = pg_query_parse(sql.c_str());
  const std::unique_ptr<const PgQueryParseResult, void (*)(const PgQueryParseResult*)> guard(
      &result, [](const PgQueryParseResult* r) { pg_query_free_parse_result(*r); });
  if (result.error) {
    std::string message = result.error->message ? result.error->message : "cannot parse";
    if (result.error->cursorpos > 0) {
      message += " (" + position_text(sql, result.error->cursorpos) + ")";
    }
    return Error{message};
  }
  return std::string(result.parse_tree ? result.parse_tree : "{}");
}

}  // namespace lockwatch
