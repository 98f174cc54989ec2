#pragma once

#include <atomic>
#include <memory>
#include <prometheus/exposer.h>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/watch_status.hpp"

namespace lockwatch {

// The HTTP side: /metrics through prometheus-cpp's Exposer, plus /chains (JSON) and
// /healthz answered from the StatusBoard. Nothing here queries the database.
class HttpEndpoints {
 public:
  // Binds `listen` ("host:port", port 0 picks a free one); throws std::runtime_error when
  // the address cannot be bound.
  HttpEndpoints(const std::string& listen, const StatusBoard& board,
                std::vector<std::weak_ptr<prometheus::Collectable>> collectables);
  ~HttpEndpoints();
  HttpEndpoints(const HttpEndpoints&) = delete;
  HttpEndpoints& operator=(const HttpEndpoints&) = delete;

  // "127.0.0.1:9188", with the port actually bound.
  std::string bound_address() const;

  // /healthz answers 200 while the last successful poll is younger than this.
  void set_health_window(Duration window);

  // Serves one request the Exposer does not; false leaves it to the Exposer (/metrics).
  bool handle(const std::string& method, const std::string& uri, std::string& status,
              std::string& content_type, std::string& body) const;

 private:
  std::string m_host;
  const StatusBoard& m_board;
  std::atomic<Duration::rep> m_health_window_ms{6000};
  std::unique_ptr<prometheus::Exposer> m_exposer;
};

}  // namespace lockwatch
