// WatchService while the main poll's lock read waits for the lock manager.
//
// pg_lock_status() needs every lock-manager partition lock. In a pile-up PostgreSQL's
// deadlock detector takes all of them, exclusively, for each waiter deadlock_timeout after
// it started waiting, and walks the whole queue each time: with 1,000 waiters on one row
// that held the lock table for 19-28 s in our runs, and nobody can log in meanwhile. The
// main poll then waits (LWLock waits ignore statement_timeout), but the server answers:
// pg_stat_get_activity() does not touch the lock manager, nor does the identity-checked
// signal. So when the main poll passes its deadline, the standby session (connected in
// advance) polls instead, with the last lock snapshot carried as stale, and the main
// session keeps waiting rather than being cut off (a new one could not get in). Only when
// the standby fails too is the server taken for frozen. However long the stall lasts (with
// 3,000 waiters it lasted over half an hour here), giving up on a main session that is
// merely waiting would be worse: every new connection attempt hangs in the server's start-up
// and keeps its slot after the client gives up, until max_connections is full.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "service/watch_service.hpp"

namespace lockwatch {
namespace {

constexpr auto k_stall_reminder_every = std::chrono::minutes(5);
constexpr auto k_standby_check_every = std::chrono::seconds(10);

std::string seconds_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

bool WatchService::standby_answers() const {
  return Clock::now() - m_standby_answered < poll_deadline() + m_config->watch.interval;
}

// Called when the main poll passed its deadline (still running) or ended on
// statement_timeout; true when the standby takes over instead of a failure.
bool WatchService::stall_instead_of_failing(std::uint64_t cycle) {
  const auto now = Clock::now();
  // A main session that never answered, or no standby to poll with (a new one could not
  // get in): not a stall we can see through.
  if (!m_connected || (!m_stalled && !m_standby_ready)) return false;
  // The standby had its go and has not answered lately: the server is not just busy.
  if (m_stalled && !m_standby_busy && !standby_answers()) return false;
  if (!m_stalled) {
    m_stalled = true;
    m_stall_since = now;
    m_stall_reminded = now;
    m_metrics.lock_snapshot_stall();
    spdlog::warn(
        "the server's lock table has not answered the poll within {}; polling "
        "pg_stat_activity on the standby session meanwhile, with the last lock snapshot (in a "
        "pile-up, PostgreSQL's deadlock detector holds the lock table for each waiter after "
        "deadlock_timeout)",
        format_duration(m_config->watch.statement_timeout));
  }
  if (now - m_stall_reminded >= k_stall_reminder_every) {
    spdlog::warn("the lock table has still not answered after {}; the standby keeps polling",
                 seconds_text(now - m_stall_since));
    m_stall_reminded = now;
  }
  if (!m_standby_busy) start_standby_poll();
  if (m_polling) {  // still waiting: let it, and look again at the next deadline
    m_deadline_timer.expires_after(poll_deadline());
    m_deadline_timer.async_wait([this, cycle](const boost::system::error_code& ec) {
      if (!ec) on_deadline(cycle);
    });
  }
  return true;
}

void WatchService::end_stall() {
  spdlog::info("lock snapshot back after {} (the main poll answered)",
               seconds_text(Clock::now() - m_stall_since));
  m_stalled = false;
}

void WatchService::start_standby_poll() {
  m_standby_busy = true;
  m_worker.begin_standby();
  const auto started = Clock::now();
  // It is connected already (check_standby): its statement never waits for the lock
  // table, so the main poll's deadline without the connect time is its deadline too.
  m_standby_timer.expires_after(m_config->watch.statement_timeout + std::chrono::seconds(1));
  m_standby_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) m_worker.abort_standby();
  });
  LockSnapshot last = m_last_full ? m_last_full->lock_snapshot() : LockSnapshot{};
  boost::asio::post(m_standby_io, [this, started, last = std::move(last), config = m_config,
                                   dsn = m_dsn, poolers = m_pooler_readings] {
    PollResult result = m_worker.standby_poll(*config, dsn, last, *poolers);
    boost::asio::post(m_io, [this, started, result = std::move(result)]() mutable {
      finish_standby_poll(std::move(result), started);
    });
  });
}

void WatchService::finish_standby_poll(PollResult result, Clock::time_point started) {
  m_standby_busy = false;
  m_standby_timer.cancel();
  audit(result.actions.news);            // a signal sent is audited, whatever else happened
  if (m_stopping || !m_stalled) return;  // the main poll came back first: it is fresher
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  m_metrics.poll_finished(seconds, result.observation != nullptr);
  if (result.observation) {
    m_standby_answered = Clock::now();
    publish_success(result);
    return;
  }
  // Neither session answers: the server is frozen or the network gone, not just busy.
  m_standby_ready = false;
  m_deadline_hit = true;
  m_worker.abort();
  publish_failure("poll exceeded its deadline of " + format_duration(poll_deadline()) +
                  " and the standby session did not answer either (server frozen or network "
                  "gone?): " +
                  result.error);
}

void WatchService::check_standby() {
  const auto now = Clock::now();
  if (m_standby_busy || now - m_standby_checked < k_standby_check_every) return;
  m_standby_checked = now;
  m_standby_busy = true;
  boost::asio::post(m_standby_io, [this, config = m_config, dsn = m_dsn] {
    const bool ok = m_worker.standby_check(*config, dsn);
    const int pid = m_worker.standby_pid();
    boost::asio::post(m_io, [this, ok, pid] {
      m_standby_busy = false;
      if (ok && !m_standby_ready) {
        spdlog::info(
            "standby session ready (backend pid {}): it polls while the lock table "
            "does not answer",
            pid);
      }
      m_standby_ready = ok;
      if (!ok) {
        spdlog::debug("standby session unavailable; retrying in {}s",
                      k_standby_check_every.count());
      }
    });
  });
}

}  // namespace lockwatch
