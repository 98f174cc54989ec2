#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/pooler_sockets.hpp"
#include "pg/pooler_console.hpp"

namespace lockwatch {

// The poolers' admin consoles, read on a thread of their own so that a slow or frozen
// pooler never delays a poll: the poll uses the last readings it has. One round at a time;
// a round reads every pooler that is due: at most every min_interval while the last poll
// saw a blocking chain, else every k_idle_interval (so pooler_up says whether the console
// answers before an incident needs it). Loop thread, except where said.
class PoolerReads {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(std::vector<PoolerReading>)>;
  static constexpr auto k_idle_interval = std::chrono::seconds(30);

  explicit PoolerReads(boost::asio::io_context& loop);
  ~PoolerReads();
  PoolerReads(const PoolerReads&) = delete;
  PoolerReads& operator=(const PoolerReads&) = delete;

  // The configured poolers with their resolved DSNs (same order). A pooler whose name, DSN
  // and timeout are unchanged keeps its console (and connection).
  void configure(const std::vector<PoolerConfig>& poolers, const std::vector<std::string>& dsns);

  // Starts a round when one is due and none runs; `done` gets the readings of the poolers
  // read, on the loop thread.
  void maybe_read(bool chain_seen, Clock::time_point now, Done done);

  bool empty() const { return m_poolers.empty(); }

  // Cuts off a round in progress and stops the thread; false when it did not stop by
  // `give_up` (a connect libpq will not abandon).
  bool stop(Clock::time_point give_up);

 private:
  struct Pooler {
    std::shared_ptr<PoolerConsole> console;
    Duration min_interval{};
    Clock::time_point last_read{};
    bool read_once = false;
  };

  bool due(const Pooler& p, bool chain_seen, Clock::time_point now) const;

  std::vector<Pooler> m_poolers;
  boost::asio::io_context& m_loop;
  bool m_busy = false;
  std::vector<std::shared_ptr<PoolerConsole>> m_reading;  // the round's consoles
  boost::asio::io_context m_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_guard;
  std::promise<void> m_done;
  std::thread m_thread;
  bool m_stopped = false;
  std::atomic<bool> m_cut_off{false};  // read by the round between consoles
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);  // for handlers left on the loop
};

}  // namespace lockwatch
