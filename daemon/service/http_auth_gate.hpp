#pragma once

#include <memory>
#include <optional>

#include "core/basic_authenticator.hpp"
#include "core/config.hpp"
#include "core/log_throttle.hpp"
#include "metrics/http_metrics.hpp"
#include "service/http_message.hpp"

namespace lockwatch {

// HTTP Basic authentication in front of every path (/healthz too when
// healthz_requires_auth); each refusal is counted, and logged at most once a minute.
class HttpAuthGate {
 public:
  // No users in `config`: every request passes.
  HttpAuthGate(const HttpConfig& config, HttpMetrics& metrics);

  // nullopt when the request may be answered; otherwise the 401 or 429 to send.
  std::optional<HttpResponse> refuse(const HttpRequest& request);

  // True when /healthz answers only authenticated requests (auth on and
  // healthz_requires_auth); otherwise it says only "ok" or "unhealthy", without the
  // error, which may name hosts and roles.
  bool healthz_is_authenticated() const { return m_authenticator && !m_healthz_open; }

 private:
  void log_refusal(const AuthCheck& check, const HttpRequest& request);

  std::unique_ptr<BasicAuthenticator> m_authenticator;
  bool m_healthz_open;
  HttpMetrics& m_metrics;
  LogThrottle m_log_throttle{std::chrono::minutes(1)};
};

}  // namespace lockwatch
