#include "service/http_endpoints.hpp"

#include <CivetServer.h>
#include <atomic>
#include <civetweb.h>
#include <cstring>
#include <stdexcept>

#include "core/chain_report.hpp"
#include "core/json_writer.hpp"

namespace lockwatch {
namespace {

// civetweb's callbacks are plain C functions; they find the endpoints through this.
std::atomic<const HttpEndpoints*> g_endpoints{nullptr};

int begin_request(mg_connection* connection) {
  const HttpEndpoints* endpoints = g_endpoints.load();
  const mg_request_info* request = mg_get_request_info(connection);
  std::string status, content_type, body;
  if (!endpoints || !endpoints->handle(request->request_method, request->local_uri, status,
                                       content_type, body)) {
    return 0;
  }
  mg_printf(connection,
            "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            status.c_str(), content_type.c_str(), body.size());
  if (std::strcmp(request->request_method, "HEAD") != 0) {
    mg_write(connection, body.data(), body.size());
  }
  return 1;
}

// Quiet civetweb's own stderr chatter; failures still reach us as exceptions.
int log_message(const mg_connection*, const char*) { return 1; }

CivetCallbacks make_callbacks() {
  CivetCallbacks callbacks{};
  callbacks.begin_request = begin_request;
  callbacks.log_message = log_message;
  return callbacks;
}

const CivetCallbacks k_callbacks = make_callbacks();

std::string to_civet_port(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw std::runtime_error("[http] listen \"" + listen + "\": expected HOST:PORT");
  }
  return listen;
}

std::string health_body(const WatchStatus& status, bool healthy) {
  std::string body = healthy ? "ok" : "unhealthy";
  body += status.up ? ": last poll succeeded\n" : ": " + status.last_error + "\n";
  return body;
}

}  // namespace

HttpEndpoints::HttpEndpoints(const std::string& listen, const StatusBoard& board,
                             std::vector<std::weak_ptr<prometheus::Collectable>> collectables)
    : m_host(listen.substr(0, listen.rfind(':'))), m_board(board) {
  g_endpoints = this;
  try {
    m_exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", to_civet_port(listen), "num_threads", "4",
                                 "request_timeout_ms", "10000", "enable_keep_alive", "no"},
        &k_callbacks);
  } catch (const CivetException& e) {
    g_endpoints = nullptr;
    throw std::runtime_error("[http] listen \"" + listen + "\": cannot listen: " + e.what());
  }
  for (const auto& collectable : collectables) m_exposer->RegisterCollectable(collectable);
}

HttpEndpoints::~HttpEndpoints() {
  m_exposer.reset();
  g_endpoints = nullptr;
}

std::string HttpEndpoints::bound_address() const {
  const auto ports = m_exposer->GetListeningPorts();
  return m_host + ":" + (ports.empty() ? "?" : std::to_string(ports.front()));
}

void HttpEndpoints::set_health_window(Duration window) { m_health_window_ms = window.count(); }

bool HttpEndpoints::handle(const std::string& method, const std::string& uri, std::string& status,
                           std::string& content_type, std::string& body) const {
  if (uri == "/metrics") return false;
  content_type = "text/plain; charset=utf-8";
  if (method != "GET" && method != "HEAD") {
    status = "405 Method Not Allowed";
    body = "only GET and HEAD\n";
    return true;
  }
  const WatchStatus now = m_board.get();
  if (uri == "/healthz") {
    const auto age = std::chrono::steady_clock::now() - now.last_success;
    const bool healthy = now.observation && age < Duration(m_health_window_ms.load());
    status = healthy ? "200 OK" : "503 Service Unavailable";
    body = health_body(now, healthy);
  } else if (uri == "/chains") {
    const bool fresh = now.up && now.observation;
    status = fresh ? "200 OK" : "503 Service Unavailable";
    content_type = "application/json";
    body = fresh ? render_chains_json(*now.observation, now.verdicts)
                 : "{\"error\":" + json_quote(now.last_error.empty() ? "no successful poll yet"
                                                                    : now.last_error) + "}";
  } else if (uri == "/") {
    status = "200 OK";
    body = "pg_lockwatch: /metrics /chains /healthz\n";
  } else {
    status = "404 Not Found";
    body = "not found; try /metrics, /chains or /healthz\n";
  }
  return true;
}

}  // namespace lockwatch
