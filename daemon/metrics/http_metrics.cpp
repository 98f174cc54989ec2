#include "metrics/http_metrics.hpp"

#include <string>

namespace lockwatch {

HttpMetrics::HttpMetrics()
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_failures(prometheus::BuildCounter()
                     .Name("pg_lockwatch_http_auth_failures_total")
                     .Help("HTTP requests refused by basic authentication, by reason.")
                     .Register(*m_registry)) {
  // Both series exist from the start, so that rate() and alerts see the first failure.
  for (std::string_view reason : {"rejected", "throttled"}) {
    m_failures.Add({{"reason", std::string(reason)}});
  }
}

void HttpMetrics::auth_failure(std::string_view reason) {
  m_failures.Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace lockwatch
