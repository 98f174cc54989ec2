#pragma once

#include <prometheus/exposer.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/duration.hpp"
#include "core/watch_status.hpp"
#include "metrics/http_metrics.hpp"
#include "service/http_auth_gate.hpp"
#include "service/http_message.hpp"

namespace lockwatch {

// The HTTP side: /metrics through prometheus-cpp's Exposer, plus /chains (JSON) and
// /healthz answered from the StatusBoard, behind optional TLS and basic auth. Nothing
// here queries the database.
class HttpEndpoints {
 public:
  // Binds `config.listen` ("host:port", port 0 picks a free one), with TLS when the config
  // names a certificate; throws std::runtime_error (one line) when it cannot: address in
  // use, unreadable certificate or key, OpenSSL unavailable.
  HttpEndpoints(const HttpConfig& config, const StatusBoard& board,
                const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables);
  ~HttpEndpoints();
  HttpEndpoints(const HttpEndpoints&) = delete;
  HttpEndpoints& operator=(const HttpEndpoints&) = delete;

  // "127.0.0.1:9188", with the port actually bound.
  std::string bound_address() const;

  // "https" with TLS, else "http".
  std::string scheme() const { return m_config.tls() ? "https" : "http"; }

  // /healthz answers 200 while the last successful poll is younger than this.
  void set_health_window(Duration window);

  // The answer to one request, or nullopt to leave it to the Exposer (/metrics, once
  // authorised).
  std::optional<HttpResponse> respond(const HttpRequest& request);

  // civetweb's TLS set-up hook: loads the certificate and key into its SSL_CTX; 1 when
  // done, -1 (the reason kept for the constructor's exception) when not.
  int init_tls(void* ssl_ctx);

 private:
  std::optional<HttpResponse> route(const HttpRequest& request) const;
  HttpResponse health() const;
  HttpResponse chains() const;
  std::string start_error(const std::string& civetweb_message) const;

  const HttpConfig m_config;
  const StatusBoard& m_board;
  std::atomic<Duration::rep> m_health_window_ms{6000};
  HttpMetrics m_metrics;
  HttpAuthGate m_gate;
  std::string m_tls_error;  // written by init_tls while the constructor waits
  std::unique_ptr<prometheus::Exposer> m_exposer;
};

}  // namespace lockwatch
