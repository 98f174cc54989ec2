#include "core/constant_time.hpp"

namespace lockwatch {

bool constant_time_equals(std::string_view secret, std::string_view given) {
  // No early exit: every byte of `secret` is compared, and the accumulator is volatile so
  // the compiler cannot turn the loop back into a memcmp that stops at the first mismatch.
  volatile unsigned char difference = secret.size() == given.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const char other = i < given.size() ? given[i] : '\0';
    difference = difference | static_cast<unsigned char>(secret[i] ^ other);
  }
  return difference == 0;
}

}  // namespace lockwatch
