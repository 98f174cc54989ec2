#include "service/pooler_reads.hpp"

#include <boost/asio/post.hpp>

namespace lockwatch {

PoolerReads::PoolerReads(boost::asio::io_context& loop)
    : m_loop(loop), m_guard(m_io.get_executor()), m_thread([this] {
        m_io.run();
        m_done.set_value();
      }) {}

PoolerReads::~PoolerReads() {
  if (!m_stopped) stop(Clock::now() + std::chrono::seconds(3));
  if (m_thread.joinable()) m_thread.join();
  *m_alive = false;
}

void PoolerReads::configure(const std::vector<PoolerConfig>& poolers,
                            const std::vector<std::string>& dsns) {
  std::vector<Pooler> next;
  for (std::size_t i = 0; i < poolers.size(); ++i) {
    const PoolerConfig& config = poolers[i];
    Pooler pooler;
    pooler.min_interval = config.min_interval;
    for (const Pooler& old : m_poolers) {
      const PoolerConsole& c = *old.console;
      if (c.name() == config.name && c.dsn() == dsns[i] && c.timeout() == config.timeout) {
        pooler = old;
        pooler.min_interval = config.min_interval;
      }
    }
    if (!pooler.console) {
      pooler.console = std::make_shared<PoolerConsole>(config.name, dsns[i], config.timeout);
    }
    next.push_back(std::move(pooler));
  }
  m_poolers = std::move(next);
}

bool PoolerReads::due(const Pooler& p, bool chain_seen, Clock::time_point now) const {
  if (!p.read_once) return true;
  const Duration every = chain_seen ? p.min_interval : Duration(k_idle_interval);
  return now - p.last_read >= every;
}

void PoolerReads::maybe_read(bool chain_seen, Clock::time_point now, Done done) {
  if (m_busy || m_stopped) return;
  std::vector<std::shared_ptr<PoolerConsole>> round;
  for (Pooler& p : m_poolers) {
    if (!due(p, chain_seen, now)) continue;
    p.last_read = now;
    p.read_once = true;
    round.push_back(p.console);
  }
  if (round.empty()) return;
  m_busy = true;
  m_reading = round;
  boost::asio::post(m_io, [this, round = std::move(round), done = std::move(done)]() mutable {
    std::vector<PoolerReading> readings;
    for (const auto& console : round) {
      if (m_cut_off) break;
      readings.push_back(console->read());
    }
    boost::asio::post(m_loop, [this, alive = m_alive, readings = std::move(readings),
                               done = std::move(done)]() mutable {
      if (!*alive) return;
      m_busy = false;
      m_reading.clear();
      if (!m_stopped) done(std::move(readings));
    });
  });
}

bool PoolerReads::stop(Clock::time_point give_up) {
  m_stopped = true;
  m_cut_off = true;
  for (const auto& console : m_reading) console->abort();
  m_guard.reset();
  m_io.stop();  // a round not begun is dropped; one in progress ends at the abort
  return m_done.get_future().wait_until(give_up) == std::future_status::ready;
}

}  // namespace lockwatch
