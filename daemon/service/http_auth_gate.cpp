#include "service/http_auth_gate.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lockwatch {
namespace {

HttpResponse challenge() {
  HttpResponse response;
  response.status = "401 Unauthorized";
  response.body = "authentication required\n";
  response.headers.emplace_back("WWW-Authenticate",
                                R"(Basic realm="pg_lockwatch", charset="UTF-8")");
  return response;
}

HttpResponse too_many() {
  HttpResponse response;
  response.status = "429 Too Many Requests";
  response.body = "too many password checks; retry later\n";
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

// Request details come from the client: keep them short and printable in the log.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 100));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c < 0x20 || c == 0x7f; }, '?');
  return out;
}

std::string refusal_reason(const AuthCheck& check) {
  if (check.result == AuthResult::throttled) return "too many password checks, not checked";
  if (check.user.empty()) return "malformed Authorization header";
  return "wrong credentials for user \"" + check.user + "\"";
}

}  // namespace

HttpAuthGate::HttpAuthGate(const HttpConfig& config, HttpMetrics& metrics)
    : m_authenticator(config.auth() ? std::make_unique<BasicAuthenticator>(config.basic_auth_users)
                                    : nullptr),
      m_healthz_open(!config.healthz_requires_auth),
      m_metrics(metrics) {}

std::optional<HttpResponse> HttpAuthGate::refuse(const HttpRequest& request) {
  if (!m_authenticator || (m_healthz_open && request.uri == "/healthz")) return std::nullopt;
  const AuthCheck check =
      m_authenticator->check(request.authorization, BasicAuthenticator::Clock::now());
  switch (check.result) {
    case AuthResult::accepted:
      return std::nullopt;
    case AuthResult::missing:
      return challenge();
    case AuthResult::rejected:
      log_refusal(check, request);
      return challenge();
    case AuthResult::throttled:
      log_refusal(check, request);
      return too_many();
  }
  return challenge();
}

void HttpAuthGate::log_refusal(const AuthCheck& check, const HttpRequest& request) {
  m_metrics.auth_failure(check.result == AuthResult::throttled ? "throttled" : "rejected");
  const auto held_back = m_log_throttle.admit(LogThrottle::Clock::now());
  if (!held_back) return;
  spdlog::warn("http: refused {} {} from {}: {}{}", printable(request.method),
               printable(request.uri), printable(request.peer), refusal_reason(check),
               *held_back == 0
                   ? ""
                   : fmt::format(" ({} more refusals since the previous line)", *held_back));
}

}  // namespace lockwatch
