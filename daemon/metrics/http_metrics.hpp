#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string_view>

namespace lockwatch {

// The counters of the HTTP endpoint: requests refused by authentication.
class HttpMetrics {
 public:
  HttpMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return m_registry; }

  // Counts one refused request; `reason` is "rejected" (bad credentials) or "throttled"
  // (too many checks lately, not checked).
  void auth_failure(std::string_view reason);

 private:
  std::shared_ptr<prometheus::Registry> m_registry;
  prometheus::Family<prometheus::Counter>& m_failures;
};

}  // namespace lockwatch
