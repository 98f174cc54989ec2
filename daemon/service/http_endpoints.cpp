#include "service/http_endpoints.hpp"

#include <CivetServer.h>
#include <civetweb.h>

#include <atomic>
#include <mutex>
#include <stdexcept>

#include "core/chain_report.hpp"
#include "core/json_writer.hpp"
#include "service/civetweb_tls.hpp"
#include "service/config_file.hpp"

namespace lockwatch {
namespace {

// civetweb's callbacks are plain C functions; they find the endpoints through this.
std::atomic<HttpEndpoints*> g_endpoints{nullptr};

// civetweb reports why it could not start only through log_message; keep the first line
// while the server starts, so that the exception can say it.
std::mutex g_start_mutex;
bool g_starting = false;
std::string g_start_message;

HttpRequest to_request(mg_connection* connection) {
  const mg_request_info* info = mg_get_request_info(connection);
  const char* authorization = mg_get_header(connection, "Authorization");
  return HttpRequest{info->request_method, info->local_uri ? info->local_uri : "",
                     authorization ? authorization : "", info->remote_addr};
}

void send(mg_connection* connection, const HttpResponse& response, const std::string& method) {
  std::string head = "HTTP/1.1 " + response.status + "\r\n";
  head += "Content-Type: " + response.content_type + "\r\n";
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  head += "Cache-Control: no-store\r\n";
  for (const auto& [name, value] : response.headers) {
    head.append(name).append(": ").append(value).append("\r\n");
  }
  head += "Connection: close\r\n\r\n";
  mg_write(connection, head.data(), head.size());
  if (method != "HEAD") mg_write(connection, response.body.data(), response.body.size());
}

int begin_request(mg_connection* connection) {
  HttpEndpoints* endpoints = g_endpoints.load();
  if (!endpoints) return 0;
  const HttpRequest request = to_request(connection);
  const auto response = endpoints->respond(request);
  if (!response) return 0;
  send(connection, *response, request.method);
  return 1;
}

int init_ssl(void* ssl_ctx, void*) {
  HttpEndpoints* endpoints = g_endpoints.load();
  return endpoints ? endpoints->init_tls(ssl_ctx) : -1;
}

// Quiet civetweb's own stderr chatter (a plain-HTTP request on the TLS port, for one);
// while it starts, the first message is kept for the start-up error.
int log_message(const mg_connection*, const char* message) {
  const std::lock_guard lock(g_start_mutex);
  if (g_starting && g_start_message.empty()) g_start_message = message;
  return 1;
}

CivetCallbacks make_callbacks() {
  CivetCallbacks callbacks{};
  callbacks.begin_request = begin_request;
  callbacks.init_ssl = init_ssl;
  callbacks.log_message = log_message;
  return callbacks;
}

const CivetCallbacks k_callbacks = make_callbacks();

// civetweb marks a TLS port with a trailing "s": "127.0.0.1:9188s".
std::string to_civet_port(const HttpConfig& config) {
  const auto colon = config.listen.rfind(':');
  // Digits only: a port written "9188s" would open TLS behind the config's back.
  if (colon == std::string::npos || colon + 1 == config.listen.size() ||
      config.listen.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    throw std::runtime_error("[http] listen \"" + config.listen + "\": expected HOST:PORT");
  }
  return config.listen + (config.tls() ? "s" : "");
}

// Starts or ends capturing civetweb's log; returns what was captured.
std::string capture_start_messages(bool capture) {
  const std::lock_guard lock(g_start_mutex);
  g_starting = capture;
  std::string captured = std::move(g_start_message);
  g_start_message.clear();
  return captured;
}

// nullptr when civetweb cannot start; `civetweb_message` then says why.
std::unique_ptr<prometheus::Exposer> start_exposer(const HttpConfig& config,
                                                   std::string& civetweb_message) {
  const std::string port = to_civet_port(config);
  capture_start_messages(true);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", port, "num_threads", "4", "request_timeout_ms",
                                 "10000", "enable_keep_alive", "no"},
        &k_callbacks);
  } catch (const CivetException&) {
    // Its message only guesses ("possible problem binding to port"); the log says why.
  }
  civetweb_message = capture_start_messages(false);
  return exposer;
}

std::string health_body(const WatchStatus& status, bool healthy, bool detailed) {
  std::string body = healthy ? "ok" : "unhealthy";
  if (!detailed) return body + "\n";
  if (!status.up) return body + ": " + status.last_error + "\n";
  if (status.problems.empty()) return body + ": last poll succeeded\n";
  for (const PrivilegeProblem& p : status.problems) body += ": " + p.message;
  return body + "\n";
}

}  // namespace

HttpEndpoints::HttpEndpoints(
    const HttpConfig& config, const StatusBoard& board,
    const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables)
    : m_config(config), m_board(board), m_gate(config, m_metrics) {
  if (m_config.tls()) prepare_civetweb_tls();
  g_endpoints = this;
  std::string civetweb_message;
  m_exposer = start_exposer(m_config, civetweb_message);
  if (!m_exposer) {
    g_endpoints = nullptr;
    throw std::runtime_error(start_error(civetweb_message));
  }
  for (const auto& collectable : collectables) m_exposer->RegisterCollectable(collectable);
  if (m_config.auth()) m_exposer->RegisterCollectable(m_metrics.registry());
}

HttpEndpoints::~HttpEndpoints() {
  m_exposer.reset();
  g_endpoints = nullptr;
}

std::string HttpEndpoints::start_error(const std::string& civetweb_message) const {
  if (!m_tls_error.empty()) return m_tls_error;
  return "[http] listen \"" + m_config.listen + "\": cannot listen: " +
         (civetweb_message.empty() ? "civetweb could not start" : civetweb_message);
}

std::string HttpEndpoints::bound_address() const {
  const auto ports = m_exposer->GetListeningPorts();
  const std::string host = m_config.listen.substr(0, m_config.listen.rfind(':'));
  return host + ":" + (ports.empty() ? "?" : std::to_string(ports.front()));
}

void HttpEndpoints::set_health_window(Duration window) {
  m_health_window_ms = window.count();
}

int HttpEndpoints::init_tls(void* ssl_ctx) {
  m_tls_error =
      configure_tls_context(ssl_ctx, expand_credentials_directory(m_config.tls_certificate),
                            expand_credentials_directory(m_config.tls_key));
  return m_tls_error.empty() ? 1 : -1;
}

std::optional<HttpResponse> HttpEndpoints::respond(const HttpRequest& request) {
  // Authentication comes before routing, so that without credentials not even a 404
  // tells which paths exist, and /metrics is protected before the Exposer sees it.
  if (auto refusal = m_gate.refuse(request)) return refusal;
  return route(request);
}

std::optional<HttpResponse> HttpEndpoints::route(const HttpRequest& request) const {
  if (request.uri == "/metrics") return std::nullopt;
  HttpResponse response;
  if (request.method != "GET" && request.method != "HEAD") {
    response.status = "405 Method Not Allowed";
    response.body = "only GET and HEAD\n";
  } else if (request.uri == "/healthz") {
    response = health();
  } else if (request.uri == "/chains") {
    response = chains();
  } else if (request.uri == "/") {
    response.status = "200 OK";
    response.body = "pg_lockwatch: /metrics /chains /healthz\n";
  } else {
    response.status = "404 Not Found";
    response.body = "not found; try /metrics, /chains or /healthz\n";
  }
  return response;
}

HttpResponse HttpEndpoints::health() const {
  const WatchStatus now = m_board.get();
  const auto age = std::chrono::steady_clock::now() - now.last_success;
  // A role that cannot see other roles' sessions polls fine and sees nothing: not healthy.
  const bool healthy =
      now.observation && age < Duration(m_health_window_ms.load()) && now.problems.empty();
  HttpResponse response;
  response.status = healthy ? "200 OK" : "503 Service Unavailable";
  response.body = health_body(now, healthy, m_gate.healthz_is_authenticated());
  return response;
}

HttpResponse HttpEndpoints::chains() const {
  const WatchStatus now = m_board.get();
  const bool fresh = now.up && now.observation;
  HttpResponse response;
  response.status = fresh ? "200 OK" : "503 Service Unavailable";
  response.content_type = "application/json";
  response.body =
      fresh ? render_chains_json(*now.observation, now.verdicts, now.report_limits)
            : "{\"error\":" +
                  json_quote(now.last_error.empty() ? "no successful poll yet" : now.last_error) +
                  "}";
  return response;
}

}  // namespace lockwatch
