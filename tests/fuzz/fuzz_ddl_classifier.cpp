// libFuzzer target: any text PostgreSQL's parser accepts classifies without crashing, and
// every statement gets advice; classification and advice never throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ddl_advice.hpp"
#include "core/ddl_classifier.hpp"
#include "parser/sql_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string sql(reinterpret_cast<const char*>(data), size);
  if (sql.find('\0') != std::string::npos) return 0;  // not SQL text
  const auto tree = lockwatch::parse_sql(sql);
  if (!tree) return 0;
  const auto statements = lockwatch::classify_statements(*tree, sql);
  if (!statements) __builtin_trap();  // libpg_query's own output must always read
  const auto advice = lockwatch::advise(*statements, false);
  if (advice.size() != statements->size()) __builtin_trap();
  for (const auto& s : *statements) {
    if (s.offset > sql.size() || s.sql.size() > sql.size()) __builtin_trap();
  }
  return 0;
}
