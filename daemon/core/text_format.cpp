#include "core/text_format.hpp"

#include <algorithm>
#include <cmath>

namespace lockwatch {

void TextTable::add_row(std::vector<std::string> cells) {
  m_rows.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<std::size_t> widths;
  for (const auto& row : m_rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  std::string out;
  for (const auto& row : m_rows) {
    std::string line = m_indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? pad_right(row[i], widths[i]) + "  " : row[i];
    }
    // A last cell may be empty: trailing spaces would only make the output noisy to diff.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::size_t display_width(const std::string& text) {
  // Continuation bytes (10xxxxxx) do not start a character.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string pad_right(const std::string& text, std::size_t width) {
  const std::size_t used = display_width(text);
  return used >= width ? text : text + std::string(width - used, ' ');
}

std::string shorten(const std::string& text, std::size_t chars) {
  if (text.size() <= chars) return text;
  std::size_t cut = chars;
  // Never split a UTF-8 sequence: back up to the start of the character.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::string whole_seconds(double seconds) {
  return std::to_string(static_cast<long long>(std::floor(std::max(0.0, seconds)))) + "s";
}

}  // namespace lockwatch
