#include "core/dsn_redaction.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lockwatch {
namespace {

constexpr std::string_view k_mask = "***";

// `sslpassword` (client key passphrase) and `oauth_client_secret` (libpq 18) are as sensitive as
// `password` itself, so they are masked too.
constexpr std::array<std::string_view, 3> k_secret_keys = {"password", "sslpassword",
                                                           "oauth_client_secret"};

constexpr std::array<std::string_view, 2> k_uri_schemes = {"postgresql://", "postgres://"};

// A half-open byte range [begin, end) of the input that gets replaced by the mask.
struct Span {
  std::size_t begin;
  std::size_t end;
};

char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower_ascii(x) == to_lower_ascii(y);
         });
}

// libpq itself only accepts lowercase keys, but a rejected `PASSWORD=...` still ends up in the
// error we log, so matching case-insensitively is the safe side.
bool is_secret_key(std::string_view key) {
  return std::any_of(k_secret_keys.begin(), k_secret_keys.end(),
                     [key](std::string_view secret) { return equals_ignore_case(key, secret); });
}

// libpq uses isspace() in the C locale. NUL counts too: libpq would stop reading there, but the
// bytes after it still reach our logs, so they are scanned as further pairs.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\0';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = to_lower_ascii(c);
  return (lower >= 'a' && lower <= 'f') ? lower - 'a' + 10 : -1;
}

// Decodes %XY escapes (invalid ones are kept literally), because libpq decodes URI parameter
// keywords: `p%61ssword=x` sets the password.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int high = i + 2 < text.size() && text[i] == '%' ? hex_value(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(text[i + 2]) : -1;
    if (low < 0) {
      out.push_back(text[i]);
      continue;
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::size_t skip_spaces(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

// Adds [begin, end) to sorted spans, merging it into the last one when they overlap or touch.
void add_merged(std::vector<Span>& spans, std::size_t begin, std::size_t end) {
  if (!spans.empty() && begin <= spans.back().end) {
    spans.back().end = std::max(spans.back().end, end);
  } else {
    spans.push_back({begin, end});
  }
}

// Returns the spans sorted by start with overlapping or touching ones merged.
std::vector<Span> merge_spans(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::vector<Span> merged;
  for (const Span& span : spans) add_merged(merged, span.begin, span.end);
  return merged;
}

// Returns `text` with each (sorted, disjoint) span replaced by the mask.
std::string apply_masks(std::string_view text, const std::vector<Span>& spans) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (const Span& span : spans) {
    out.append(text.substr(copied, span.begin - copied));
    out.append(k_mask);
    copied = span.end;
  }
  out.append(text.substr(copied));
  return out;
}

void add_mask(std::vector<Span>& spans, std::size_t begin, std::size_t end) {
  // Empty values reveal nothing, and leaving them alone keeps mask_dsn idempotent.
  if (end > begin) spans.push_back({begin, end});
}

// Returns the end of a conninfo keyword: libpq stops at `=` or whitespace.
std::size_t scan_conninfo_key(std::string_view dsn, std::size_t pos) {
  while (pos < dsn.size() && dsn[pos] != '=' && !is_space(dsn[pos])) ++pos;
  return pos;
}

// Where a conninfo value ends, and whether it is a quoted value that never closes.
struct ValueEnd {
  std::size_t end;
  bool unterminated;
};

// Scans a conninfo value at `pos`; both quoted and bare values honour backslash escapes.
ValueEnd scan_conninfo_value(std::string_view dsn, std::size_t pos) {
  const bool quoted = pos < dsn.size() && dsn[pos] == '\'';
  for (pos += quoted ? 1 : 0; pos < dsn.size(); ++pos) {
    if (dsn[pos] == '\\') {
      ++pos;
    } else if (quoted ? dsn[pos] == '\'' : is_space(dsn[pos])) {
      return {pos + (quoted ? 1 : 0), false};
    }
  }
  // A trailing backslash can step one past the end; either way the value runs to the end.
  return {dsn.size(), quoted};
}

// Records the value at `pos` for masking, keeping its quotes: libpq allows `password='x'host=h`,
// and `password=***host=h` would read differently.
void add_value_mask(std::string_view dsn, std::size_t pos, ValueEnd value,
                    std::vector<Span>& spans) {
  const bool quoted = pos < value.end && dsn[pos] == '\'';
  const std::size_t closing = quoted && !value.unterminated ? 1 : 0;
  add_mask(spans, pos + (quoted ? 1 : 0), value.end - closing);
}

// Returns whether a `secret_key =` pair starts at `pos`.
bool starts_secret_pair(std::string_view dsn, std::size_t pos) {
  const std::size_t key_end = scan_conninfo_key(dsn, pos);
  const std::size_t equals = skip_spaces(dsn, key_end);
  return equals < dsn.size() && dsn[equals] == '=' && is_secret_key(dsn.substr(pos, key_end - pos));
}

// Parses one `key = value` pair at `pos`, records the value if it must be masked, and returns
// the position after it.
std::size_t scan_conninfo_pair(std::string_view dsn, std::size_t pos, std::vector<Span>& spans) {
  const std::size_t key_end = scan_conninfo_key(dsn, pos);
  const bool secret = is_secret_key(dsn.substr(pos, key_end - pos));
  pos = skip_spaces(dsn, key_end);
  const bool has_equals = pos < dsn.size() && dsn[pos] == '=';
  if (has_equals) pos = skip_spaces(dsn, pos + 1);
  // libpq rejects `password secret` (missing `=`), but that rejection gets logged: treat the
  // following word as the value anyway.
  if (!has_equals && !secret) return pos;
  // For libpq `host= password=x` sets host to "password=x"; that fails and gets logged, so the
  // embedded pair is parsed on its own instead.
  if (!secret && starts_secret_pair(dsn, pos)) return pos;
  const ValueEnd value = scan_conninfo_value(dsn, pos);
  // An unterminated quote swallows the rest of the string, which may hold the password.
  if (secret || value.unterminated) add_value_mask(dsn, pos, value, spans);
  return value.end;
}

std::string mask_conninfo(std::string_view dsn) {
  std::vector<Span> spans;
  std::size_t pos = skip_spaces(dsn, 0);
  while (pos < dsn.size()) pos = skip_spaces(dsn, scan_conninfo_pair(dsn, pos, spans));
  return apply_masks(dsn, spans);
}

// Returns the position just after the URI scheme, or 0 when `dsn` is not a URI.
std::size_t uri_authority_start(std::string_view dsn) {
  const std::size_t start = skip_spaces(dsn, 0);
  for (std::string_view scheme : k_uri_schemes) {
    if (equals_ignore_case(dsn.substr(start, scheme.size()), scheme)) return start + scheme.size();
  }
  return 0;
}

// Records the values of secret `key=value` parameters in the query starting at `pos`.
void mask_uri_query(std::string_view dsn, std::size_t pos, std::vector<Span>& spans) {
  // libpq only splits on `&`, but an unescaped `?` inside a value (or a second `?` after a
  // mis-parsed userinfo) must not hide a following `password=`, so `?` separates as well.
  while (pos < dsn.size()) {
    const std::size_t end = std::min(dsn.find_first_of("&?", pos), dsn.size());
    const std::size_t equals = dsn.substr(0, end).find('=', pos);
    if (equals != std::string_view::npos &&
        is_secret_key(percent_decode(dsn.substr(pos, equals - pos)))) {
      add_mask(spans, equals + 1, end);
    }
    pos = end + 1;
  }
}

// Returns the first `c` at or after `from` outside the sorted `masks`, or npos.
std::size_t find_unmasked(std::string_view text, char c, std::size_t from,
                          const std::vector<Span>& masks) {
  std::size_t pos = text.find(c, from);
  for (const Span& mask : masks) {
    if (pos == std::string_view::npos || pos < mask.begin) break;
    if (pos < mask.end) pos = text.find(c, mask.end);
  }
  return pos;
}

// Records the userinfo password span; `spans` already holds the secret query values.
void mask_uri_userinfo(std::string_view dsn, std::size_t start, std::vector<Span>& spans) {
  // libpq ends the userinfo at the first `@` before the first `/`; taking the last one instead
  // also covers passwords with an unescaped `@` (the mask may then swallow part of the host).
  // A `/` or `:` inside a masked query value does not count: it disappears from the output,
  // and the output must parse the same way again (masking is idempotent).
  const std::size_t slash = find_unmasked(dsn, '/', start, spans);
  const std::size_t at = dsn.substr(0, slash).rfind('@');
  if (at == std::string_view::npos || at < start) return;
  const std::size_t colon = find_unmasked(dsn, ':', start, spans);
  if (colon < at) add_mask(spans, colon + 1, at);
}

std::string mask_uri(std::string_view dsn, std::size_t authority) {
  std::vector<Span> spans;
  // The query is searched from the authority, not from the host: in `postgres://h?password=x@y`
  // libpq sees a user name, but the text still reads as a password and must not be logged.
  const std::size_t query = dsn.find('?', authority);
  if (query != std::string_view::npos) mask_uri_query(dsn, query + 1, spans);
  mask_uri_userinfo(dsn, authority, spans);
  return apply_masks(dsn, merge_spans(std::move(spans)));
}

// Knuth-Morris-Pratt failure function: the searched secret comes from configuration and may be
// long, and a naive search would be quadratic on adversarial text.
std::vector<std::size_t> failure_table(std::string_view pattern) {
  std::vector<std::size_t> table(pattern.size(), 0);
  for (std::size_t i = 1, k = 0; i < pattern.size(); ++i) {
    while (k > 0 && pattern[i] != pattern[k]) k = table[k - 1];
    if (pattern[i] == pattern[k]) ++k;
    table[i] = k;
  }
  return table;
}

// Returns every occurrence of `pattern`, overlapping ones merged, so a partially overlapping
// repeat (`ababa` for `aba`) cannot leave a fragment of the secret behind.
std::vector<Span> find_occurrences(std::string_view text, std::string_view pattern) {
  const std::vector<std::size_t> table = failure_table(pattern);
  std::vector<Span> spans;
  for (std::size_t i = 0, k = 0; i < text.size(); ++i) {
    while (k > 0 && text[i] != pattern[k]) k = table[k - 1];
    if (text[i] == pattern[k]) ++k;
    if (k == pattern.size()) {
      add_merged(spans, i + 1 - k, i + 1);
      k = table[k - 1];
    }
  }
  return spans;
}

}  // namespace

std::string mask_dsn(std::string_view dsn) {
  const std::size_t authority = uri_authority_start(dsn);
  return authority > 0 ? mask_uri(dsn, authority) : mask_conninfo(dsn);
}

std::string mask_secret(std::string_view text, std::string_view secret) {
  if (secret.empty()) return std::string(text);
  return apply_masks(text, find_occurrences(text, secret));
}

}  // namespace lockwatch
