#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/query_normaliser.hpp"

namespace {

// One kind of literal or comment the normaliser must swallow whole.
struct LiteralKind {
  std::string_view open;
  std::string_view close;
  std::string_view forbidden;  // bytes that would end the body early
  std::string_view masked;     // what the whole token becomes
};

constexpr LiteralKind k_kinds[] = {
    {"'", "'", "'", "?"},   {"E'", "'", "'\\", "?"},  {"e'", "'", "'\\", "?"},
    {"B'", "'", "'", "?"},  {"X'", "'", "'", "?"},    {"N'", "'", "'", "?"},
    {"U&'", "'", "'", "?"}, {"$$", "$$", "$", "?"},   {"$q$", "$q$", "$", "?"},
    {"/*", "*/", "*/", ""}, {"--", "\n", "\n\r", ""},
};

// Aborts with a message so that libFuzzer records the input as a crash.
void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// Checks the properties that hold for any input.
void check_output_shape(std::string_view input, const std::string& once) {
  require(once.size() <= input.size(), "output longer than input");
  require(lockwatch::normalise_query(once) == once, "normalising is not idempotent");
  require(once.empty() || (once.front() != ' ' && once.back() != ' '), "output not trimmed");
  // Quoted identifiers are copied verbatim and may hold anything, so only check without them.
  if (once.find('"') != std::string::npos) return;
  require(once.find_first_of("\t\n\r\f\v'") == std::string::npos, "whitespace or quote left");
  require(once.find("  ") == std::string::npos, "whitespace not collapsed");
  require(once.find("--") == std::string::npos && once.find("/*") == std::string::npos,
          "comment opener left");
}

// Checks that a literal is masked whole and does not disturb the lexing of what follows it.
void check_literal_isolation(FuzzedDataProvider& fdp) {
  const LiteralKind& kind = fdp.PickValueInArray(k_kinds);
  std::string body = fdp.ConsumeRandomLengthString(64);
  for (char& c : body) {
    if (kind.forbidden.find(c) != std::string_view::npos) c = 'x';
  }
  const bool terminated = fdp.ConsumeBool();
  const std::string suffix = terminated ? fdp.ConsumeRemainingBytesAsString() : std::string();
  std::string query = "SELECT a, ";
  query.append(kind.open).append(body);
  if (terminated) query.append(kind.close).append(" ").append(suffix);

  std::string expected = "SELECT a,";
  if (!kind.masked.empty()) expected.append(" ").append(kind.masked);
  const std::string tail = lockwatch::normalise_query(suffix);
  if (!tail.empty()) expected.append(" ").append(tail);
  require(lockwatch::normalise_query(query) == expected, "literal not masked in isolation");
}

}  // namespace

// libFuzzer fixes the name of the entry point.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_output_shape(input, lockwatch::normalise_query(input));
  FuzzedDataProvider fdp(data, size);
  check_literal_isolation(fdp);
  return 0;
}
