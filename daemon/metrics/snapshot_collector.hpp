#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "core/watch_status.hpp"

namespace lockwatch {

// The gauges of /metrics, built from the latest WatchStatus on each scrape: a scrape never
// queries the database. The number of series is fixed except for the top-N root blockers.
class SnapshotCollector : public prometheus::Collectable {
 public:
  SnapshotCollector(const StatusBoard& board, std::string version)
      : m_board(board), m_version(std::move(version)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const StatusBoard& m_board;
  std::string m_version;
};

// The families for one status, as Collect() returns them (pure: tests call this).
std::vector<prometheus::MetricFamily> collect_status(const WatchStatus& status,
                                                     const std::string& version);

}  // namespace lockwatch
