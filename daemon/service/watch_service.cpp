#include "service/watch_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>

#include "core/dsn_redaction.hpp"
#include "service/config_file.hpp"
#include "service/logging.hpp"

namespace lockwatch {
namespace {

constexpr auto k_worker_stop_grace = std::chrono::seconds(3);
// The exit status when a poll stuck where no abort reaches forces the exit.
constexpr int k_exit_forced = 1;

bool is_loopback(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("[::1]", 0) == 0 ||
         listen.rfind("localhost", 0) == 0;
}

// /chains and /metrics carry query text, user and application names: say so when the
// network can read them.
void warn_about_exposure(const HttpConfig& http) {
  if (is_loopback(http.listen)) return;
  if (!http.auth()) {
    spdlog::warn(
        "http: listening on {} without authentication: anyone who can reach it "
        "sees the query text of blocking sessions; see [http.basic_auth_users]",
        http.listen);
  } else if (!http.tls()) {
    spdlog::warn(
        "http: listening on {} with basic auth but without TLS: passwords and query "
        "text cross the network in clear; see [http] tls_certificate",
        http.listen);
  }
}

// "listen, basic_auth_users": the [http] keys that differ.
std::string changed_http_keys(const HttpConfig& before, const HttpConfig& after) {
  std::string keys;
  const auto note = [&keys](bool changed, const char* key) {
    if (changed) keys += (keys.empty() ? "" : ", ") + std::string(key);
  };
  note(before.listen != after.listen, "listen");
  note(before.tls_certificate != after.tls_certificate, "tls_certificate");
  note(before.tls_key != after.tls_key, "tls_key");
  note(before.basic_auth_users != after.basic_auth_users, "basic_auth_users");
  note(before.healthz_requires_auth != after.healthz_requires_auth, "healthz_requires_auth");
  return keys;
}

// Why libpq would refuse this DSN, or "" (the message masks the password).
std::string dsn_problem(const std::string& dsn) {
  try {
    build_conninfo(dsn, std::chrono::seconds(5));
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

// The [[pooler]] DSNs, resolved and checked; the error names the pooler.
Expected<std::vector<std::string>> pooler_dsns(const Config& config) {
  std::vector<std::string> dsns;
  for (const PoolerConfig& pooler : config.poolers) {
    auto dsn = resolve_pooler_dsn(pooler);
    if (!dsn) return Error{dsn.error()};
    if (const std::string why = dsn_problem(*dsn); !why.empty()) {
      return Error{"[[pooler]] " + pooler.name + " dsn: " + why};
    }
    dsns.push_back(std::move(*dsn));
  }
  return dsns;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

WatchService::WatchService(boost::asio::io_context& io, ServiceOptions options, Config config)
    : m_io(io),
      m_options(std::move(options)),
      m_poll_timer(io),
      m_deadline_timer(io),
      m_watchdog_timer(io),
      m_signals(io, SIGTERM, SIGINT, SIGHUP),
      m_worker_guard(m_worker_io.get_executor()),
      m_worker_thread([this] {
        m_worker_io.run();
        m_worker_done.set_value();
      }),
      m_standby_guard(m_standby_io.get_executor()),
      m_standby_timer(io),
      m_standby_thread([this] {
        m_standby_io.run();
        m_standby_done.set_value();
      }),
      m_poolers(io),
      m_collector(std::make_shared<SnapshotCollector>(m_board, LOCKWATCH_VERSION)),
      m_backoff(std::chrono::milliseconds(500), std::chrono::seconds(5)) {
  if (!m_options.cli_listen.empty()) config.http.listen = m_options.cli_listen;
  m_config = std::make_shared<const Config>(std::move(config));
}

WatchService::~WatchService() {
  m_worker_guard.reset();
  m_worker_io.stop();
  if (m_worker_thread.joinable()) m_worker_thread.join();
  m_standby_guard.reset();
  m_standby_io.stop();
  if (m_standby_thread.joinable()) m_standby_thread.join();
}

void WatchService::start() {
  const auto dsn = resolve_dsn(*m_config, m_options.cli_dsn);
  if (!dsn) throw std::runtime_error(dsn.error());
  if (const std::string why = dsn_problem(*dsn); !why.empty()) throw std::runtime_error(why);
  m_dsn = *dsn;
  auto poolers = pooler_dsns(*m_config);
  if (!poolers) throw std::runtime_error(poolers.error());
  m_pooler_dsns = std::move(*poolers);
  m_poolers.configure(m_config->poolers, m_pooler_dsns);
  for (const PoolerConfig& p : m_config->poolers) {
    spdlog::info("pooler {}: reading its admin console {} to name the clients behind it", p.name,
                 mask_dsn(m_pooler_dsns[&p - m_config->poolers.data()]));
  }
  m_http = std::make_unique<HttpEndpoints>(
      m_config->http, m_board,
      std::vector<std::weak_ptr<prometheus::Collectable>>{m_collector, m_metrics.registry()});
  m_http->set_health_window(m_config->watch.interval * 3);
  declare_policies();
  spdlog::info("pg_lockwatch {} watching {} every {}; metrics on {}://{}/metrics",
               LOCKWATCH_VERSION, m_dsn.empty() ? "(libpq environment)" : mask_dsn(m_dsn),
               format_duration(m_config->watch.interval), m_http->scheme(),
               m_http->bound_address());
  warn_about_exposure(m_config->http);
  wait_for_signal();
  start_watchdog();
  schedule_poll(Duration(0));
}

void WatchService::start_watchdog() {
  const auto period = m_notify.watchdog_interval();
  if (period.count() <= 0) return;
  // Fed from the loop's own timer, not from finished polls: any interval works with any
  // WatchdogSec, and only a poll stuck beyond what its deadline can cut off starves it.
  spdlog::info(
      "systemd watchdog: every {}; pinged every {} unless a poll is stuck longer than its "
      "deadline plus {}s",
      format_duration(std::chrono::duration_cast<Duration>(period)),
      format_duration(std::chrono::duration_cast<Duration>(period / 2)),
      k_worker_stop_grace.count());
  keep_watchdog_alive(period / 2);
}

void WatchService::keep_watchdog_alive(std::chrono::microseconds every) {
  if (making_progress()) m_notify.watchdog();
  m_watchdog_timer.expires_after(every);
  m_watchdog_timer.async_wait([this, every](const boost::system::error_code& ec) {
    if (!ec) keep_watchdog_alive(every);
  });
}

bool WatchService::making_progress() const {
  // A poll past its deadline has had its session cut off; still running after the grace
  // it is stuck where no abort reaches, and a restart is the cure. Unless it waits for the
  // lock manager while the standby keeps answering: then the daemon is sighted.
  return !m_polling || Clock::now() - m_poll_started < poll_deadline() + k_worker_stop_grace ||
         (m_stalled && standby_answers());
}

void WatchService::schedule_poll(Duration delay) {
  m_poll_timer.expires_after(delay);
  m_poll_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) start_poll();
  });
}

Duration WatchService::poll_deadline() const {
  const WatchConfig& w = m_config->watch;
  return w.statement_timeout + std::chrono::seconds(1) +
         (m_connected ? Duration(0) : w.connect_timeout);
}

void WatchService::start_poll() {
  if (m_polling) {
    // The previous poll is still stuck: waiting for the lock manager (the standby polls
    // instead), or past its deadline with its socket shut down and libpq not back yet. Do
    // not pile up work behind it.
    if (m_stalled && !m_standby_busy) {
      start_standby_poll();
    } else {
      spdlog::debug("poll skipped: previous poll still running");
    }
    schedule_poll(m_config->watch.interval);
    return;
  }
  m_polling = true;
  m_deadline_hit = false;
  const std::uint64_t cycle = ++m_cycle;
  const auto started = Clock::now();
  m_poll_started = started;
  m_worker.begin();
  m_deadline_timer.expires_after(poll_deadline());
  m_deadline_timer.async_wait([this, cycle](const boost::system::error_code& ec) {
    if (!ec) on_deadline(cycle);
  });
  boost::asio::post(m_worker_io, [this, cycle, started, config = m_config, dsn = m_dsn,
                                  poolers = m_pooler_readings] {
    PollResult result = m_worker.poll(*config, dsn, *poolers);
    boost::asio::post(m_io, [this, cycle, started, result = std::move(result)]() mutable {
      finish_poll(cycle, std::move(result), started);
    });
  });
}

void WatchService::on_deadline(std::uint64_t cycle) {
  if (cycle != m_cycle || !m_polling) return;
  if (stall_instead_of_failing(cycle)) return;
  m_deadline_hit = true;
  m_worker.abort();
  const std::string error = "poll exceeded its deadline of " + format_duration(poll_deadline()) +
                            " (server frozen or network gone?)";
  m_metrics.poll_finished(std::chrono::duration<double>(poll_deadline()).count(), false);
  publish_failure(error);
}

void WatchService::finish_poll(std::uint64_t cycle, PollResult result, Clock::time_point started) {
  m_polling = false;
  m_deadline_timer.cancel();
  const bool ok = result.observation != nullptr;  // publish_success() takes it
  if (ok) {
    if (m_stalled) end_stall();
    m_last_full = result.observation;
  }
  // What the policies did is audited whatever became of the poll: a signal sent by a poll
  // that then passed its deadline, or finished while stopping, was still sent.
  audit(result.actions.news);
  if (m_stopping) return;
  const bool late = m_deadline_hit && cycle == m_cycle;
  if (!late && !(result.timed_out && stall_instead_of_failing(cycle))) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    m_metrics.poll_finished(seconds, result.observation != nullptr);
    if (result.observation) {
      publish_success(result);
    } else {
      publish_failure(result.error);
    }
  }
  m_notify.watchdog();
  if (!m_ready_sent) {
    m_notify.ready();
    m_ready_sent = true;
  }
  if (ok) check_standby();
  read_poolers(ok && m_last_full->locks().blocked > 0);
  schedule_poll(next_delay());
}

void WatchService::read_poolers(bool chain_seen) {
  m_poolers.maybe_read(chain_seen, Clock::now(), [this](std::vector<PoolerReading> readings) {
    take_pooler_readings(std::move(readings));
  });
}

void WatchService::take_pooler_readings(std::vector<PoolerReading> readings) {
  // Merged by name into the last readings of the poolers still configured.
  auto merged = std::make_shared<std::vector<PoolerReading>>();
  std::vector<PoolerStatus> status;
  for (const PoolerConfig& pooler : m_config->poolers) {
    const auto fresh = std::find_if(readings.begin(), readings.end(), [&](const PoolerReading& r) {
      return r.pooler == pooler.name;
    });
    const auto last = std::find_if(m_pooler_readings->begin(), m_pooler_readings->end(),
                                   [&](const PoolerReading& r) { return r.pooler == pooler.name; });
    const auto was = std::find_if(m_pooler_status.begin(), m_pooler_status.end(),
                                  [&](const PoolerStatus& s) { return s.name == pooler.name; });
    if (fresh != readings.end()) {
      m_metrics.pooler_read(fresh->pooler, fresh->up);
      const bool was_up = was == m_pooler_status.end() || was->up;
      if (!fresh->up && (was_up || was->error != fresh->error)) {
        spdlog::warn("pooler {}: admin console unavailable, blockers behind it are not named: {}",
                     pooler.name, fresh->error);
      } else if (fresh->up && !was_up) {
        spdlog::info("pooler {}: admin console answers again", pooler.name);
      }
      merged->push_back(std::move(*fresh));
    } else if (last != m_pooler_readings->end()) {
      merged->push_back(*last);
    } else {
      continue;
    }
    status.push_back(PoolerStatus{pooler.name, merged->back().up, merged->back().error});
  }
  m_pooler_readings = std::move(merged);
  m_pooler_status = status;
  WatchStatus board = m_board.get();
  board.poolers = std::move(status);
  m_board.set(std::move(board));
}

void WatchService::publish_success(PollResult& result) {
  if (result.reconnected) {
    m_server_version = result.server_version;
    m_via_pooler = result.pooler.via_pooler;
    spdlog::info("connected to PostgreSQL {} (watchdog backend pid {})", m_server_version,
                 result.backend_pid);
    if (m_via_pooler) {
      spdlog::warn(
          "connection goes through a pooler or proxy: {}; point [database] dsn at "
          "the server itself, or blockers will be hidden",
          result.pooler.reason);
    }
    m_problems = std::move(result.problems);
    for (const PrivilegeProblem& p : m_problems) spdlog::error("{}", p.message);
  }
  if (result.name_error != m_name_error && !result.name_error.empty()) {
    spdlog::warn("names unavailable this poll (sessions show oid:N): {}", result.name_error);
  }
  m_name_error = std::move(result.name_error);
  if (m_failures > 0) spdlog::info("poll recovered after {} failed attempt(s)", m_failures);
  m_failures = 0;
  m_connected = true;
  m_last_error.clear();
  for (const std::string& line : m_chain_log.update(*result.observation)) spdlog::warn("{}", line);
  WatchStatus status;
  status.observation = std::move(result.observation);
  status.up = true;
  status.via_pooler = m_via_pooler;
  status.server_version = m_server_version;
  status.last_success = Clock::now();
  status.last_success_unix_seconds = unix_now();
  status.top_roots = m_config->watch.top_roots;
  status.report_limits.roots = static_cast<std::size_t>(m_config->watch.chains_roots);
  status.report_limits.waiters = static_cast<std::size_t>(m_config->watch.chains_waiters);
  status.problems = m_problems;
  status.verdicts = std::move(result.actions.verdicts);
  status.poolers = m_pooler_status;
  m_notify.status(status_line(status));
  m_board.set(std::move(status));
}

void WatchService::audit(const std::vector<Decision>& decisions) {
  for (const Decision& d : decisions) {
    m_metrics.policy_action(d.policy, to_string(d.action), to_string(d.outcome));
    const bool bad = d.outcome == Outcome::failed || d.outcome == Outcome::denied;
    spdlog::log(bad ? spdlog::level::err : spdlog::level::warn, "{}", audit_line(d));
  }
}

void WatchService::publish_failure(const std::string& error) {
  ++m_failures;
  m_connected = false;
  if (error != m_last_error) spdlog::error("poll failed: {}", error);
  m_last_error = error;
  WatchStatus status = m_board.get();
  status.up = false;
  status.last_error = error;
  m_notify.status(status_line(status));
  m_board.set(std::move(status));
}

Duration WatchService::next_delay() {
  if (m_failures == 0) return m_config->watch.interval;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return m_backoff.delay(m_failures, unit(m_random));
}

std::string WatchService::status_line(const WatchStatus& status) const {
  if (!status.up) return "down: " + status.last_error;
  const LockAnalysis& locks = status.observation->locks();
  return "up, " + std::to_string(locks.blocked) + " blocked, longest chain " +
         std::to_string(locks.max_chain_length);
}

void WatchService::wait_for_signal() {
  m_signals.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      reload();
      wait_for_signal();
    } else {
      spdlog::info("received signal {}, stopping", signal);
      shutdown();
    }
  });
}

void WatchService::reload() {
  m_notify.reloading();
  if (m_options.config_path.empty()) {
    spdlog::info("SIGHUP: no --config file to re-read");
  } else if (auto config = load_config_file(m_options.config_path); !config) {
    spdlog::error("config reload failed, keeping the previous config: {}", config.error());
  } else if (const auto dsn = resolve_dsn(*config, m_options.cli_dsn); !dsn) {
    spdlog::error("config reload failed, keeping the previous config: {}", dsn.error());
  } else if (const std::string why = dsn_problem(*dsn); !why.empty()) {
    spdlog::error("config reload failed, keeping the previous config: {}", why);
  } else if (auto poolers = pooler_dsns(*config); !poolers) {
    spdlog::error("config reload failed, keeping the previous config: {}", poolers.error());
  } else {
    m_pooler_dsns = std::move(*poolers);
    apply(std::move(*config), *dsn);
    spdlog::info("config reloaded from {}", m_options.config_path);
  }
  m_notify.ready();
}

void WatchService::apply(Config config, const std::string& dsn) {
  if (!m_options.cli_listen.empty()) config.http.listen = m_options.cli_listen;
  if (config.http != m_config->http) {
    spdlog::warn("[http] {} changed: takes effect at the next restart",
                 changed_http_keys(m_config->http, config.http));
    config.http = m_config->http;
  }
  configure_logging(config.log);
  m_http->set_health_window(config.watch.interval * 3);
  m_config = std::make_shared<const Config>(std::move(config));
  m_dsn = dsn;
  m_poolers.configure(m_config->poolers, m_pooler_dsns);
  declare_policies();
}

void WatchService::declare_policies() {
  for (const Policy& policy : m_config->policies) {
    m_metrics.declare_policy(policy.name, to_string(policy.action));
  }
  if (!m_config->policies.empty()) {
    spdlog::info("{} polic{} loaded; {}", m_config->policies.size(),
                 m_config->policies.size() == 1 ? "y" : "ies",
                 m_config->safety.dry_run ? "[safety] dry_run = true: nothing will be signalled "
                                            "unless a policy sets dry_run = false"
                                          : "dry_run is off: matching sessions WILL be signalled");
  }
}

void WatchService::shutdown() {
  m_stopping = true;
  m_notify.stopping();
  m_poll_timer.cancel();
  m_deadline_timer.cancel();
  m_watchdog_timer.cancel();
  m_signals.cancel();
  m_standby_timer.cancel();
  m_worker.abort();
  m_worker.abort_standby();
  m_worker_guard.reset();
  m_standby_guard.reset();
  const auto give_up = Clock::now() + k_worker_stop_grace;
  const bool worker_done =
      m_worker_done.get_future().wait_until(give_up) == std::future_status::ready;
  const bool standby_done =
      m_standby_done.get_future().wait_until(give_up) == std::future_status::ready;
  const bool poolers_done = m_poolers.stop(give_up);
  if (!worker_done || !standby_done || !poolers_done) {
    // A poll stuck where no abort reaches (libpq connecting, a DNS lookup): exiting is
    // better than hanging, but it is not a clean stop, so the status says so.
    spdlog::error("poll worker did not stop within {}s; exiting anyway with status {}",
                  k_worker_stop_grace.count(), k_exit_forced);
    spdlog::default_logger()->flush();
    std::_Exit(k_exit_forced);
  }
  m_http.reset();
}

}  // namespace lockwatch
