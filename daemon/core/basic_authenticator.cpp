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
    : m_users(std::move(users)), m_rate(slow_checks_per_second), m_tokens(2 * m_rate) {}

AuthCheck BasicAuthenticator::check(std::string_view authorization, Clock::time_point now) {
  if (authorization.empty()) return {AuthResult::missing, ""};
  const auto credentials = parse_basic_authorization(authorization);
  if (!credentials) return {AuthResult::rejected, ""};
  const std::string user = printable(credentials->user);
  // A remembered hash settles the check both ways: the config (and so the stored hash)
  // cannot change without a restart, so a password that does not match it is wrong.
  if (const std::string cheap = remembered(credentials->user); !cheap.empty()) {
    const bool same = verify_password(credentials->password, cheap);
    return {same ? AuthResult::accepted : AuthResult::rejected, user};
  }
  return {check_slowly(credentials->user, credentials->password, now), user};
}

AuthResult BasicAuthenticator::check_slowly(const std::string& user, const std::string& password,
                                            Clock::time_point now) {
  if (!take_slow_check(now)) return AuthResult::throttled;
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

bool BasicAuthenticator::take_slow_check(Clock::time_point now) {
  // A token bucket holding two seconds' worth of checks: a burst of a few is fine, a
  // password-guessing loop cannot keep the HTTP threads busy hashing.
  const std::lock_guard lock(m_mutex);
  const double elapsed = std::chrono::duration<double>(now - m_refilled).count();
  m_tokens = std::min(2 * m_rate, m_tokens + std::max(0.0, elapsed) * m_rate);
  m_refilled = now;
  if (m_tokens < 1.0) return false;
  m_tokens -= 1.0;
  return true;
}

}  // namespace lockwatch
