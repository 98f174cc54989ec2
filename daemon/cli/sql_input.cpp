#include "cli/sql_input.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace lockwatch {

std::string read_sql_input(const std::string& sql, const std::string& file,
                           const std::string& command) {
  if (!sql.empty()) return sql;
  std::ostringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(command + ": " + file + ": " + std::strerror(errno));
  text << in.rdbuf();
  return text.str();
}

bool blank_sql(const std::string& sql) {
  return sql.find_first_not_of(" \t\r\n;") == std::string::npos;
}

}  // namespace lockwatch
