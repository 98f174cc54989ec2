#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "core/chain_report.hpp"
#include "core/observation.hpp"
#include "core/server_requirements.hpp"

namespace lockwatch {

// The last read of one configured pooler's admin console.
struct PoolerStatus {
  std::string name;
  bool up = false;
  std::string error;
};

// What the poll loop last learned, for the publishers (HTTP, metrics, sd_notify).
struct WatchStatus {
  std::shared_ptr<const Observation> observation;  // the last successful poll; null before
  bool up = false;                                 // the last poll succeeded
  bool via_pooler = false;
  std::string server_version;
  std::chrono::steady_clock::time_point last_success{};
  double last_success_unix_seconds = 0;
  std::string last_error;
  int top_roots = 5;
  ReportLimits report_limits;         // how much of a pile-up /chains shows
  std::vector<RootVerdict> verdicts;  // what policies decided about the roots
  // What the watchdog's role cannot see or do (found at connect): /healthz turns unhealthy
  // and pg_lockwatch_missing_privilege says which, while polls go on.
  std::vector<PrivilegeProblem> problems;
  std::vector<PoolerStatus> poolers;  // every [[pooler]]; a pooler down never makes us unhealthy
};

// The one place WatchStatus is shared between the loop and the HTTP threads; it can only
// be reached under its lock, and readers get a copy.
class StatusBoard {
 public:
  void set(WatchStatus status) {
    const std::lock_guard lock(m_mutex);
    m_status = std::move(status);
  }

  WatchStatus get() const {
    const std::lock_guard lock(m_mutex);
    return m_status;
  }

 private:
  mutable std::mutex m_mutex;
  WatchStatus m_status;
};

}  // namespace lockwatch
