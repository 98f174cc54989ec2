#include "core/query_normaliser.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace lockwatch {
namespace {

constexpr std::string_view k_placeholder = "?";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// PostgreSQL's scanner treats every byte >= 0x80 as an identifier letter; doing the same keeps
// multibyte UTF-8 (and invalid bytes) in one piece instead of splitting it between tokens.
bool is_ident_start(char c) {
  return is_ascii_letter(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_ident_cont(char c) {
  return is_ident_start(c) || is_digit(c) || c == '$';
}

// Dollar-quote tags are identifiers without `$`, otherwise `$a$b$` would be ambiguous.
bool is_dollar_tag_cont(char c) {
  return is_ident_start(c) || is_digit(c);
}

// Same set as scan.l's {space} in PostgreSQL 16 (which added \v).
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_radix_digit(char radix, char c) {
  switch (radix) {
    case 'x':
      return is_digit(c) || (to_lower_ascii(c) >= 'a' && to_lower_ascii(c) <= 'f');
    case 'o':
      return c >= '0' && c <= '7';
    default:
      return c == '0' || c == '1';
  }
}

// A single left-to-right pass over the text. Every lexing step consumes at least one byte and
// never looks back, which is what keeps the normaliser linear and loop-free on hostile input.
class Normaliser {
 public:
  explicit Normaliser(std::string_view sql) : m_sql(sql) { m_out.reserve(sql.size()); }

  // Consumes the whole input and returns the normalised text.
  std::string run();

 private:
  // Returns the byte `offset` positions ahead, or '\0' past the end (callers never test for NUL).
  char peek(std::size_t offset) const;
  // Returns whether the remaining input starts with `text`.
  bool at(std::string_view text) const;
  // Appends `text`, preceded by one space if whitespace or a comment came before it.
  void emit(std::string_view text);
  // Lexes one token (or whitespace/comment run) at the current position.
  void lex_token();
  // Lexes a token starting with an identifier character: a prefixed string or an identifier.
  void lex_word();
  // Collapses a whitespace run into a pending separator.
  void skip_whitespace();
  // Drops a `--` comment up to (not including) the end of the line.
  void skip_line_comment();
  // Drops a possibly nested `/* */` comment, up to the end of input when unterminated.
  void skip_block_comment();
  // Skips a quoted body starting at the opening quote; returns false when it is unterminated.
  bool skip_quoted(char quote, bool backslash_escapes);
  // Replaces a string constant with `prefix_length` prefix bytes by the placeholder.
  void mask_string(std::size_t prefix_length, bool backslash_escapes);
  // Copies a quoted identifier, or emits the placeholder when it is unterminated.
  void lex_quoted_identifier();
  // Returns the length of the E/B/X/N/U& prefix of a string constant here, or 0.
  std::size_t string_prefix_length() const;
  // Lexes `$1`, a dollar-quoted string or a lone `$`.
  void lex_dollar();
  // Returns the length of a `$tag$` delimiter at the current position, or 0.
  std::size_t dollar_delimiter_length() const;
  // Returns the position just after the next `delimiter` at or after `from`, or the input size.
  std::size_t find_closing_delimiter(std::size_t from, std::string_view delimiter) const;
  // Returns whether `delimiter` occurs at `pos`, comparing byte by byte with an early exit.
  bool delimiter_at(std::size_t pos, std::string_view delimiter) const;
  // Returns whether a numeric literal starts at the current position.
  bool starts_number() const;
  // Replaces a numeric literal by the placeholder.
  void lex_number();
  // Returns the end of a 0x/0o/0b integer starting at `pos`, or `pos` when there is none.
  std::size_t scan_radix_integer(std::size_t pos) const;
  // Returns the end of a decimal integer with optional single `_` separators starting at `pos`.
  std::size_t scan_decinteger(std::size_t pos) const;
  // Returns the end of `digits[.digits]` or `.digits` starting at `pos`.
  std::size_t scan_decimal(std::size_t pos) const;
  // Returns the end of an exponent starting at `pos`, or `pos` when there is none.
  std::size_t scan_exponent(std::size_t pos) const;

  std::string_view m_sql;
  std::size_t m_pos = 0;
  std::string m_out;
  bool m_pending_space = false;
};

std::string Normaliser::run() {
  while (m_pos < m_sql.size()) lex_token();
  return std::move(m_out);
}

char Normaliser::peek(std::size_t offset) const {
  return m_pos + offset < m_sql.size() ? m_sql[m_pos + offset] : '\0';
}

bool Normaliser::at(std::string_view text) const {
  return m_sql.substr(m_pos).starts_with(text);
}

void Normaliser::emit(std::string_view text) {
  // Leading separators are dropped and trailing ones are never flushed, which trims both ends.
  if (m_pending_space && !m_out.empty()) m_out.push_back(' ');
  m_pending_space = false;
  m_out.append(text);
}

void Normaliser::lex_token() {
  const char c = m_sql[m_pos];
  if (is_space(c)) return skip_whitespace();
  if (at("--")) return skip_line_comment();
  if (at("/*")) return skip_block_comment();
  if (c == '\'') return mask_string(0, false);
  if (c == '"') return lex_quoted_identifier();
  if (c == '$') return lex_dollar();
  if (starts_number()) return lex_number();
  if (is_ident_start(c)) return lex_word();
  // `..` is one token so that `1..10` keeps both dots instead of becoming `1.` and `.10`.
  const std::size_t length = at("..") ? 2 : 1;
  emit(m_sql.substr(m_pos, length));
  m_pos += length;
}

void Normaliser::lex_word() {
  // The prefix letter only counts at the start of a token: in `name'x'` the identifier has
  // already swallowed the letter and the quote is lexed as a plain string afterwards.
  if (const std::size_t prefix = string_prefix_length(); prefix > 0) {
    return mask_string(prefix, to_lower_ascii(m_sql[m_pos]) == 'e');
  }
  std::size_t end = m_pos + 1;
  while (end < m_sql.size() && is_ident_cont(m_sql[end])) ++end;
  emit(m_sql.substr(m_pos, end - m_pos));
  m_pos = end;
}

void Normaliser::skip_whitespace() {
  while (m_pos < m_sql.size() && is_space(m_sql[m_pos])) ++m_pos;
  m_pending_space = true;
}

void Normaliser::skip_line_comment() {
  while (m_pos < m_sql.size() && m_sql[m_pos] != '\n' && m_sql[m_pos] != '\r') ++m_pos;
  m_pending_space = true;
}

void Normaliser::skip_block_comment() {
  // PostgreSQL nests block comments, so a plain search for the first `*/` would let the tail
  // of an outer comment leak into the output.
  std::size_t depth = 0;
  while (m_pos < m_sql.size()) {
    if (at("/*")) {
      ++depth;
      m_pos += 2;
    } else if (at("*/")) {
      m_pos += 2;
      if (--depth == 0) break;
    } else {
      ++m_pos;
    }
  }
  // A comment separates tokens: `a/**/b` must not become the single identifier `ab`.
  m_pending_space = true;
}

bool Normaliser::skip_quoted(char quote, bool backslash_escapes) {
  ++m_pos;
  while (m_pos < m_sql.size()) {
    const char c = m_sql[m_pos];
    if (backslash_escapes && c == '\\') {
      m_pos += 2;
      continue;
    }
    ++m_pos;
    if (c != quote) continue;
    if (m_pos < m_sql.size() && m_sql[m_pos] == quote) {
      ++m_pos;
      continue;
    }
    return true;
  }
  // A trailing backslash escape can step one past the end.
  m_pos = m_sql.size();
  return false;
}

void Normaliser::mask_string(std::size_t prefix_length, bool backslash_escapes) {
  m_pos += prefix_length;
  // Terminated or not, the whole body disappears: truncated query text must not leak its tail.
  skip_quoted('\'', backslash_escapes);
  emit(k_placeholder);
}

void Normaliser::lex_quoted_identifier() {
  const std::size_t start = m_pos;
  if (skip_quoted('"', false)) {
    emit(m_sql.substr(start, m_pos - start));
  } else {
    // An unterminated quote may really be a truncated literal in disguise; masking it (rather
    // than copying `"...`) also keeps the normaliser idempotent.
    emit(k_placeholder);
  }
}

std::size_t Normaliser::string_prefix_length() const {
  const char c = to_lower_ascii(m_sql[m_pos]);
  if ((c == 'e' || c == 'b' || c == 'x' || c == 'n') && peek(1) == '\'') return 1;
  if (c == 'u' && peek(1) == '&' && peek(2) == '\'') return 2;
  return 0;
}

void Normaliser::lex_dollar() {
  if (is_digit(peek(1))) {
    // Positional parameters are placeholders already; their digits are not literals.
    std::size_t end = m_pos + 1;
    while (end < m_sql.size() && is_digit(m_sql[end])) ++end;
    emit(m_sql.substr(m_pos, end - m_pos));
    m_pos = end;
    return;
  }
  const std::size_t length = dollar_delimiter_length();
  if (length == 0) {
    emit("$");
    ++m_pos;
    return;
  }
  m_pos = find_closing_delimiter(m_pos + length, m_sql.substr(m_pos, length));
  emit(k_placeholder);
}

std::size_t Normaliser::dollar_delimiter_length() const {
  std::size_t end = m_pos + 1;
  if (end < m_sql.size() && is_ident_start(m_sql[end])) {
    ++end;
    while (end < m_sql.size() && is_dollar_tag_cont(m_sql[end])) ++end;
  }
  return end < m_sql.size() && m_sql[end] == '$' ? end + 1 - m_pos : 0;
}

std::size_t Normaliser::find_closing_delimiter(std::size_t from, std::string_view delimiter) const {
  // Tag bytes never include `$`, so a failed comparison only covers bytes before the next `$`:
  // the total work stays linear even for long tags and many `$` in the body.
  for (std::size_t pos = m_sql.find('$', from); pos != std::string_view::npos;
       pos = m_sql.find('$', pos + 1)) {
    if (delimiter_at(pos, delimiter)) return pos + delimiter.size();
  }
  return m_sql.size();
}

bool Normaliser::delimiter_at(std::size_t pos, std::string_view delimiter) const {
  if (m_sql.size() - pos < delimiter.size()) return false;
  for (std::size_t i = 0; i < delimiter.size(); ++i) {
    if (m_sql[pos + i] != delimiter[i]) return false;
  }
  return true;
}

bool Normaliser::starts_number() const {
  return is_digit(m_sql[m_pos]) || (m_sql[m_pos] == '.' && is_digit(peek(1)));
}

void Normaliser::lex_number() {
  std::size_t end = scan_radix_integer(m_pos);
  if (end == m_pos) end = scan_exponent(scan_decimal(m_pos));
  // Anything glued to the number (`123abc`) is lexed as the next token, as PostgreSQL < 16 did.
  m_pos = end;
  emit(k_placeholder);
}

std::size_t Normaliser::scan_radix_integer(std::size_t pos) const {
  if (m_sql[pos] != '0' || pos + 1 >= m_sql.size()) return pos;
  const char radix = to_lower_ascii(m_sql[pos + 1]);
  if (radix != 'x' && radix != 'o' && radix != 'b') return pos;
  // PG16 syntax: 0x(_?hexdigit)+, i.e. an underscore is only allowed before a digit.
  std::size_t end = pos + 2;
  while (true) {
    const std::size_t digit = end < m_sql.size() && m_sql[end] == '_' ? end + 1 : end;
    if (digit >= m_sql.size() || !is_radix_digit(radix, m_sql[digit])) break;
    end = digit + 1;
  }
  return end == pos + 2 ? pos : end;
}

std::size_t Normaliser::scan_decinteger(std::size_t pos) const {
  if (pos >= m_sql.size() || !is_digit(m_sql[pos])) return pos;
  std::size_t end = pos + 1;
  while (true) {
    const std::size_t digit = end < m_sql.size() && m_sql[end] == '_' ? end + 1 : end;
    if (digit >= m_sql.size() || !is_digit(m_sql[digit])) return end;
    end = digit + 1;
  }
}

std::size_t Normaliser::scan_decimal(std::size_t pos) const {
  const std::size_t end = scan_decinteger(pos);
  if (end >= m_sql.size() || m_sql[end] != '.') return end;
  // `1..10` is an integer followed by `..`, not `1.` followed by `.10`.
  if (end + 1 < m_sql.size() && m_sql[end + 1] == '.') return end;
  return scan_decinteger(end + 1);
}

std::size_t Normaliser::scan_exponent(std::size_t pos) const {
  if (pos >= m_sql.size() || to_lower_ascii(m_sql[pos]) != 'e') return pos;
  std::size_t digits = pos + 1;
  if (digits < m_sql.size() && (m_sql[digits] == '+' || m_sql[digits] == '-')) ++digits;
  const std::size_t end = scan_decinteger(digits);
  return end == digits ? pos : end;
}

}  // namespace

std::string normalise_query(std::string_view sql) {
  return Normaliser(sql).run();
}

}  // namespace lockwatch
