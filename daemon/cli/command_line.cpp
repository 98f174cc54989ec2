#include "cli/command_line.hpp"

#include <algorithm>

namespace lockwatch {

int usage_error(const std::string& message) {
  std::cerr << "pg_lockwatch: " << one_line(message) << "\n";
  return k_exit_usage;
}

std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\t' || c == '\r'; }, ' ');
  std::string out;
  for (char c : text) {
    if (c != ' ' || (!out.empty() && out.back() != ' ')) out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace lockwatch
