#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace lockwatch {

enum class AuthResult {
  accepted,
  missing,    // no Authorization header
  rejected,   // malformed, unknown user or wrong password
  throttled,  // too many slow checks lately; not checked at all
};

// The outcome of one check and the user name the client sent (for the log).
struct AuthCheck {
  AuthResult result;
  std::string user;
};

// Checks HTTP Basic credentials against crypt(3) hashes. A full check (bcrypt: a quarter
// of a second or more) runs at most `slow_checks_per_second` times a second; after one
// succeeds, the user's password is remembered as a cheap salted hash, so later requests
// (a scraper's) are settled in about a millisecond. Wrong guesses against a remembered
// password are throttled at the same rate, per user. Thread-safe.
class BasicAuthenticator {
 public:
  using Clock = std::chrono::steady_clock;

  // `users` maps names to hashes that password_hash_problem() accepted; not empty.
  explicit BasicAuthenticator(std::map<std::string, std::string> users,
                              double slow_checks_per_second = 2.0);

  // Checks the value of an Authorization header ("" when there is none).
  AuthCheck check(std::string_view authorization, Clock::time_point now);

 private:
  // Checks allowed at a rate, with bursts of two seconds' worth. Guarded by m_mutex.
  struct TokenBucket {
    double tokens = 0;
    Clock::time_point refilled{};
  };

  bool take(TokenBucket& bucket, Clock::time_point now);
  void give_back(TokenBucket& bucket);
  AuthResult check_slowly(const std::string& user, const std::string& password,
                          Clock::time_point now);
  AuthResult check_remembered(const std::string& user, const std::string& password,
                              const std::string& cheap, Clock::time_point now);
  std::string remembered(const std::string& user);

  const std::map<std::string, std::string> m_users;
  const double m_rate;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_remembered;  // user -> cheap hash of the last good password
  TokenBucket m_slow_checks;
  std::map<std::string, TokenBucket> m_guesses;  // per remembered user: checks against it
};

}  // namespace lockwatch
