#include "core/password_hash.hpp"

#include <crypt.h>

#include <memory>
#include <regex>
#include <vector>

#include "core/constant_time.hpp"

namespace lockwatch {
namespace {

struct Scheme {
  std::string_view prefix;
  std::string_view name;
  std::regex shape;
  std::string_view expected;
};

// The crypt(3) alphabet is [./0-9A-Za-z]; the lengths are those libxcrypt produces.
const std::vector<Scheme>& schemes() {
  static const std::vector<Scheme> k_schemes = {
      {"$2", "bcrypt", std::regex(R"(\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./0-9A-Za-z]{53})"),
       "$2b$, a cost from 04 to 31, $ and 53 characters"},
      {"$6$", "sha512-crypt",
       std::regex(R"(\$6\$(rounds=[0-9]+\$)?[^$:\s]{1,16}\$[./0-9A-Za-z]{86})"),
       "$6$, an optional rounds=N$, a salt, $ and 86 characters"},
      {"$y$", "yescrypt", std::regex(R"(\$y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{43})"),
       "$y$, parameters, $, a salt, $ and 43 characters"},
  };
  return k_schemes;
}

std::string unsupported(std::string_view hash) {
  if (hash.empty() || hash.front() != '$') {
    return "not a crypt(3) hash (plaintext passwords are not accepted); make one with "
           "`pg_lockwatch hash-password`";
  }
  const auto end = hash.find('$', 1);
  return "unsupported hash scheme \"" + std::string(hash.substr(0, end + 1)) +
         "\"; use bcrypt ($2b$), sha512-crypt ($6$) or yescrypt ($y$): "
         "`pg_lockwatch hash-password` makes a bcrypt hash";
}

// crypt_r's work area is 32 KiB: too big for the stack of civetweb's threads.
std::unique_ptr<crypt_data> new_crypt_data() {
  return std::make_unique<crypt_data>();
}

}  // namespace

std::string password_hash_problem(std::string_view hash) {
  for (const Scheme& scheme : schemes()) {
    if (!hash.starts_with(scheme.prefix)) continue;
    if (std::regex_match(hash.begin(), hash.end(), scheme.shape)) return "";
    return "malformed " + std::string(scheme.name) + " hash (expected " +
           std::string(scheme.expected) + ")";
  }
  return unsupported(hash);
}

bool verify_password(std::string_view password, const std::string& hash) {
  // crypt_r takes C strings: a password with a NUL byte would be cut short and match a
  // prefix of itself, so it never matches.
  if (password.find('\0') != std::string_view::npos) return false;
  const auto data = new_crypt_data();
  const char* computed = crypt_r(std::string(password).c_str(), hash.c_str(), data.get());
  // On failure crypt_r returns NULL or a string starting with '*', never a valid hash.
  if (computed == nullptr || computed[0] == '*') return false;
  return constant_time_equals(hash, computed);
}

Expected<std::string> hash_password(std::string_view password, std::string_view prefix,
                                    unsigned long cost) {
  if (password.find('\0') != std::string_view::npos) return Error{"password contains a NUL byte"};
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // NULL random bytes: libxcrypt draws the salt from the kernel's random source.
  if (crypt_gensalt_rn(std::string(prefix).c_str(), cost, nullptr, 0, setting, sizeof setting) ==
      nullptr) {
    return Error{"cannot make a " + std::string(prefix) + " salt with cost " +
                 std::to_string(cost)};
  }
  const auto data = new_crypt_data();
  const char* hash = crypt_r(std::string(password).c_str(), setting, data.get());
  if (hash == nullptr || hash[0] == '*') return Error{"crypt_r failed"};
  return std::string(hash);
}

}  // namespace lockwatch
