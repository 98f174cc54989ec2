#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../unit/dsn_builders.hpp"
#include "core/dsn_redaction.hpp"

namespace {

using lockwatch::testing::conninfo_quote;
using lockwatch::testing::percent_encode;

constexpr std::string_view k_plain_keys[] = {"host",    "port",    "dbname",          "user",
                                             "options", "sslmode", "application_name"};
constexpr std::string_view k_secret_keys[] = {"password", "sslpassword"};
constexpr std::string_view k_equals[] = {"=", " = ", "=  ", "\t=\t"};
constexpr std::string_view k_users[] = {"", "u", "app_user"};
constexpr std::string_view k_hosts[] = {"", "h", "h1:5432,h2:5433", "[::1]:5432"};
constexpr std::string_view k_paths[] = {"", "/", "/db"};
// Stands in for the secret in the reference text; it occurs in neither secret alphabet.
constexpr std::string_view k_hole = "\x01";

// Aborts with a message so that libFuzzer records the input as a crash.
void require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// Returns 4-16 bytes of [A-Z0-9]: no byte of `password=`, `***`, quotes or the hole.
std::string make_secret(FuzzedDataProvider& fdp) {
  constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string secret(fdp.ConsumeIntegralInRange<std::size_t>(4, 16), 'A');
  for (char& c : secret) c = k_alphabet[fdp.ConsumeIntegralInRange<std::size_t>(0, 35)];
  return secret;
}

// The masked output may only contain `secret` where the text without the secret has it too:
// every piece of the output between masks is a piece of that reference text.
void require_no_leak(const std::string& out, std::string_view secret, std::string_view reference) {
  if (secret.empty() || out.find(secret) == std::string::npos) return;
  require(reference.find(secret) != std::string_view::npos, "secret survived masking");
}

std::string plain_pairs(FuzzedDataProvider& fdp) {
  std::string out;
  for (auto n = fdp.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    out.append(fdp.PickValueInArray(k_plain_keys)).append("=");
    out.append(conninfo_quote(fdp.ConsumeRandomLengthString(16))).append(" ");
  }
  return out;
}

// Builds a well-formed conninfo with a password pair and checks the password is masked.
void check_conninfo(FuzzedDataProvider& fdp) {
  const std::string secret = make_secret(fdp);
  const bool quoted = fdp.ConsumeBool();
  std::string key = " ";
  key.append(fdp.PickValueInArray(k_secret_keys)).append(fdp.PickValueInArray(k_equals));
  const std::string before = plain_pairs(fdp);
  const std::string after = plain_pairs(fdp);
  const std::string dsn = before + key + (quoted ? conninfo_quote(secret) : secret) + " " + after;
  const std::string out = lockwatch::mask_dsn(dsn);
  require_no_leak(out, secret, before + key + std::string(k_hole) + " " + after);
  require(lockwatch::mask_dsn(out) == out, "mask_dsn not idempotent on conninfo");
}

std::string uri_params(FuzzedDataProvider& fdp) {
  std::string out;
  for (auto n = fdp.ConsumeIntegralInRange(0, 3); n > 0; --n) {
    out.append(fdp.PickValueInArray(k_plain_keys)).append("=");
    out.append(percent_encode(fdp.ConsumeRandomLengthString(16))).append("&");
  }
  return out;
}

// Builds a URI with a userinfo password and a password parameter and checks both are masked.
void check_uri(FuzzedDataProvider& fdp) {
  const std::string user_secret = percent_encode(fdp.ConsumeRandomLengthString(16));
  const std::string param_secret = percent_encode(fdp.ConsumeRandomLengthString(16));
  std::string head = "postgresql://";
  head.append(fdp.PickValueInArray(k_users)).append(":");
  std::string middle = "@";
  middle.append(fdp.PickValueInArray(k_hosts)).append(fdp.PickValueInArray(k_paths)).append("?");
  middle.append(uri_params(fdp)).append("password=");
  const std::string tail = "&" + uri_params(fdp);
  const std::string dsn = head + user_secret + middle + param_secret + tail;
  const std::string out = lockwatch::mask_dsn(dsn);
  const std::string reference = head + std::string(k_hole) + middle + std::string(k_hole) + tail;
  require_no_leak(out, user_secret, reference);
  require_no_leak(out, param_secret, reference);
  require(lockwatch::mask_dsn(out) == out, "mask_dsn not idempotent on URI");
}

void check_mask_secret(FuzzedDataProvider& fdp) {
  const std::string secret = fdp.ConsumeRandomLengthString(8);
  const std::string text = fdp.ConsumeRandomLengthString(256);
  const std::string out = lockwatch::mask_secret(text, secret);
  if (secret.empty()) return require(out == text, "empty secret changed the text");
  // With `*` in the secret the mask itself could spell it; otherwise no occurrence may remain.
  if (secret.find('*') == std::string::npos) {
    require(out.find(secret) == std::string::npos, "mask_secret left an occurrence");
  }
}

}  // namespace

// libFuzzer fixes the name of the entry point.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string once = lockwatch::mask_dsn(input);
  require(lockwatch::mask_dsn(once) == once, "mask_dsn not idempotent");
  require(once.size() <= 3 * input.size(), "mask_dsn output too long");
  FuzzedDataProvider fdp(data, size);
  check_mask_secret(fdp);
  check_conninfo(fdp);
  check_uri(fdp);
  return 0;
}
