#pragma once

#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace lockwatch {

// What makes `hash` unusable as a stored password hash, or "" when it is a well-formed
// crypt(3) string of an accepted scheme: bcrypt ($2b$, $2a$, $2y$), sha512-crypt ($6$)
// or yescrypt ($y$). Plaintext and weaker schemes (MD5 $1$, DES) are refused.
std::string password_hash_problem(std::string_view hash);

// True when `password` hashes to `hash` (crypt_r, then a constant-time comparison).
bool verify_password(std::string_view password, const std::string& hash);

// A new crypt(3) hash of `password` with a random salt; `prefix` picks the scheme ("$2b$"
// bcrypt, "$6$" sha512-crypt) and `cost` its work factor (bcrypt: log2 of the rounds;
// sha512-crypt: rounds).
Expected<std::string> hash_password(std::string_view password, std::string_view prefix,
                                    unsigned long cost);

}  // namespace lockwatch
