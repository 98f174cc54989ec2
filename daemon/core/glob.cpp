#include "core/glob.hpp"

#include <string>

namespace lockwatch {

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative with one backtrack point: linear for the patterns configs use, never recursive.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    // A '*' in the pattern is always a wildcard, even facing a '*' in the text.
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool glob_match_any(const std::vector<std::string>& patterns, std::string_view text) {
  for (const std::string& pattern : patterns) {
    if (glob_match(pattern, text)) return true;
  }
  return false;
}

}  // namespace lockwatch
