#pragma once

#include <string>
#include <vector>

namespace lockwatch {

// Rows of text cells printed as aligned columns: every column but the last is padded to
// its widest cell, columns are two spaces apart, and each line starts with `indent`.
class TextTable {
 public:
  explicit TextTable(std::string indent = "  ") : m_indent(std::move(indent)) {}

  void add_row(std::vector<std::string> cells);
  bool empty() const { return m_rows.empty(); }
  std::string render() const;

 private:
  std::string m_indent;
  std::vector<std::vector<std::string>> m_rows;
};

// Pads `text` with spaces to `width` display columns (UTF-8 aware: one column per code point).
std::string pad_right(const std::string& text, std::size_t width);

// The number of display columns `text` takes, counting one per UTF-8 code point.
std::size_t display_width(const std::string& text);

// `text` cut to at most `chars` characters, ending in "..." when cut.
std::string shorten(const std::string& text, std::size_t chars);

// Whole seconds, rounded down: 312.7 -> "312s".
std::string whole_seconds(double seconds);

}  // namespace lockwatch
