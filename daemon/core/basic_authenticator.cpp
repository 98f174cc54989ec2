#include "core/basic_authenticator.hpp"

#include <algorithm>

#include "core/basic_credentials.hpp"
#include "core/password_hash.hpp"

namespace lockwatch {
namespace {

// sha512-crypt at its minimum of 1000 rounds: cheap enough for every scrape, and still a
// salted hash, so the process never keeps a password in plain text.
constexpr std::string_view k_remembered_scheme = "$6$";
constexpr unsigned long k_remembered_rounds = 1000;

// User names go to the log: keep them short and printable.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 64));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
  return out;
}

}  // namespace

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users,
                                       double slow_checks_per_second)
    : m_users(std::move(users)),
      m_rate(slow_checks_per_second),
      m_slow_checks{2 * m_rate, Clock::time_point{}} {}

AuthCheck BasicAuthenticator::check(std::string_view authorization, Clock::time_point now) {
  if (authorization.empty()) return {AuthResult::missing, ""};
  const auto credentials = parse_basic_authorization(authorization);
  if (!credentials) return {AuthResult::rejected, ""};
  const std::string user = printable(credentials->user);
  // A remembered hash settles the check both ways: the config (and so the stored hash)
  // cannot change without a restart, so a password that does not match it is wrong.
  if (const std::string cheap = remembered(credentials->user); !cheap.empty()) {
    return {check_remembered(credentials->user, credentials->password, cheap, now), user};
  }
  return {check_slowly(credentials->user, credentials->password, now), user};
}

AuthResult BasicAuthenticator::check_remembered(const std::string& user,
                                                const std::string& password,
                                                const std::string& cheap, Clock::time_point now) {
  // Every check takes from the user's allowance before it runs and a match gives it back:
  // wrong guesses are held to the full checks' rate, and as a throttled guess is not
  // checked at all, a 429 says nothing about the password. A scraper that knows it is
  // throttled only while someone is guessing its password.
  {
    const std::lock_guard lock(m_mutex);
    const auto it = m_guesses.try_emplace(user, TokenBucket{2 * m_rate, now}).first;
    if (!take(it->second, now)) return AuthResult::throttled;
  }
  if (!verify_password(password, cheap)) return AuthResult::rejected;
  const std::lock_guard lock(m_mutex);
  give_back(m_guesses[user]);
  return AuthResult::accepted;
}

AuthResult BasicAuthenticator::check_slowly(const std::string& user, const std::string& password,
                                            Clock::time_point now) {
  {
    const std::lock_guard lock(m_mutex);
    if (!take(m_slow_checks, now)) return AuthResult::throttled;
  }
  const auto it = m_users.find(user);
  // An unknown user costs a full check against some stored hash all the same, so the
  // answer's timing does not tell which user names exist.
  const std::string& hash = it != m_users.end() ? it->second : m_users.begin()->second;
  if (!verify_password(password, hash) || it == m_users.end()) return AuthResult::rejected;
  if (auto cheap = hash_password(password, k_remembered_scheme, k_remembered_rounds)) {
    const std::lock_guard lock(m_mutex);
    m_remembered[user] = std::move(*cheap);
  }
  return AuthResult::accepted;
}

std::string BasicAuthenticator::remembered(const std::string& user) {
  const std::lock_guard lock(m_mutex);
  const auto it = m_remembered.find(user);
  return it == m_remembered.end() ? std::string() : it->second;
}

bool BasicAuthenticator::take(TokenBucket& bucket, Clock::time_point now) {
  // Two seconds' worth of checks: a burst of a few is fine, a password-guessing loop
  // cannot keep the HTTP threads busy hashing nor try more than `m_rate` passwords a second.
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(2 * m_rate, bucket.tokens + std::max(0.0, elapsed) * m_rate);
  bucket.refilled = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

void BasicAuthenticator::give_back(TokenBucket& bucket) {
  bucket.tokens = std::min(2 * m_rate, bucket.tokens + 1.0);
}

}  // namespace lockwatch
