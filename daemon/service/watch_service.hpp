#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "core/backoff.hpp"
#include "core/chain_log.hpp"
#include "core/config.hpp"
#include "metrics/poll_metrics.hpp"
#include "metrics/snapshot_collector.hpp"
#include "service/http_endpoints.hpp"
#include "service/poll_worker.hpp"
#include "service/pooler_reads.hpp"
#include "service/systemd_notify.hpp"

namespace lockwatch {

// Where the running config came from and what the command line overrides.
struct ServiceOptions {
  std::string config_path;  // empty: defaults only, SIGHUP has nothing to re-read
  std::string cli_dsn;
  std::string cli_listen;
};

// The daemon: an Asio loop that polls on a timer, hands each blocking poll to a worker
// thread under a hard deadline, publishes the result (status board, metrics, logs,
// sd_notify), feeds systemd's watchdog while it makes progress, and handles SIGTERM/SIGINT
// (stop) and SIGHUP (reload).
class WatchService {
 public:
  WatchService(boost::asio::io_context& io, ServiceOptions options, Config config);
  ~WatchService();
  WatchService(const WatchService&) = delete;
  WatchService& operator=(const WatchService&) = delete;

  // Binds HTTP (throws std::runtime_error when it cannot) and starts polling.
  void start();

 private:
  using Clock = std::chrono::steady_clock;

  void schedule_poll(Duration delay);
  void start_poll();
  void start_watchdog();
  void keep_watchdog_alive(std::chrono::microseconds every);
  bool making_progress() const;
  void on_deadline(std::uint64_t cycle);
  void finish_poll(std::uint64_t cycle, PollResult result, Clock::time_point started);
  void publish_success(PollResult& result);
  void publish_failure(const std::string& error);
  void audit(const std::vector<Decision>& decisions);
  void declare_policies();
  Duration next_delay();
  Duration poll_deadline() const;
  void wait_for_signal();
  void reload();
  void shutdown();
  void apply(Config config, const std::string& dsn);
  std::string status_line(const WatchStatus& status) const;

  // While the main poll's lock read waits for the lock manager (lock_stall.cpp).
  bool stall_instead_of_failing(std::uint64_t cycle);
  void start_standby_poll();
  void finish_standby_poll(PollResult result, Clock::time_point started);
  void check_standby();
  bool standby_answers() const;
  void end_stall();

  // The poolers' consoles (pooler_reads.hpp): a round after a poll when one is due.
  void read_poolers(bool chain_seen);
  void take_pooler_readings(std::vector<PoolerReading> readings);

  boost::asio::io_context& m_io;
  ServiceOptions m_options;
  std::shared_ptr<const Config> m_config;  // replaced whole on reload; polls hold a reference
  std::string m_dsn;
  boost::asio::steady_timer m_poll_timer;
  boost::asio::steady_timer m_deadline_timer;
  boost::asio::steady_timer m_watchdog_timer;
  boost::asio::signal_set m_signals;

  boost::asio::io_context m_worker_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_worker_guard;
  PollWorker m_worker;
  std::promise<void> m_worker_done;
  std::thread m_worker_thread;

  boost::asio::io_context m_standby_io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> m_standby_guard;
  boost::asio::steady_timer m_standby_timer;
  std::promise<void> m_standby_done;
  std::thread m_standby_thread;
  bool m_standby_busy = false;
  bool m_standby_ready = false;  // the standby session is connected and answered lately
  bool m_stalled = false;        // the main poll waits for the lock manager; the standby polls
  Clock::time_point m_stall_since{};
  Clock::time_point m_stall_reminded{};  // the last "still not answering" warning
  Clock::time_point m_standby_checked{};
  Clock::time_point m_standby_answered{};
  std::shared_ptr<const Observation> m_last_full;  // the main poll's last, with its locks

  PoolerReads m_poolers;
  std::vector<std::string> m_pooler_dsns;  // resolved, in [[pooler]] order
  // The last reading of every configured pooler; each poll takes the current one.
  std::shared_ptr<const std::vector<PoolerReading>> m_pooler_readings =
      std::make_shared<const std::vector<PoolerReading>>();
  std::vector<PoolerStatus> m_pooler_status;

  bool m_polling = false;
  Clock::time_point m_poll_started{};
  bool m_connected = false;
  bool m_deadline_hit = false;
  bool m_ready_sent = false;
  bool m_stopping = false;
  std::uint64_t m_cycle = 0;
  int m_failures = 0;
  std::string m_last_error;
  bool m_via_pooler = false;
  std::string m_server_version;
  std::vector<PrivilegeProblem> m_problems;  // found at the last connect
  std::string m_name_error;                  // the last name read failure, logged once

  StatusBoard m_board;
  PollMetrics m_metrics;
  std::shared_ptr<SnapshotCollector> m_collector;
  std::unique_ptr<HttpEndpoints> m_http;
  ChainLog m_chain_log;
  SystemdNotify m_notify;
  Backoff m_backoff;
  std::mt19937 m_random{std::random_device{}()};
};

}  // namespace lockwatch
