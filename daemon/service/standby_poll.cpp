// The standby half of PollWorker: a second session that never waits on the lock manager.
#include <set>

#include "core/pooler_attribution.hpp"
#include "service/poll_worker.hpp"

namespace lockwatch {
namespace {

// The backends the standby must return whatever pg_stat_activity says they do: every
// session of the last lock snapshot (a root idle in transaction is not waiting).
std::vector<int> sessions_of(const LockSnapshot& locks) {
  std::set<int> pids;
  for (const LockQueue& q : locks.queues) {
    for (const LockEntry& e : q.entries) {
      if (!is_prepared_session(e.session)) pids.insert(e.session);
    }
  }
  return {pids.begin(), pids.end()};
}

std::string one_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

void PollWorker::connect_standby(const Config& config, const std::string& dsn) {
  const WatchConfig& watch = config.watch;
  const auto server = this->server();
  if (!server) throw std::runtime_error("no main session yet");
  auto session = std::make_unique<Session>(
      SessionSettings{dsn, watch.statement_timeout, watch.lock_timeout, watch.connect_timeout},
      m_standby_abort);
  m_standby_query = std::make_unique<ActivityQuery>(session->connection(), *server);
  m_standby_pid = session->backend_pid();
  m_standby = std::move(session);
  m_standby_dsn = dsn;
}

void PollWorker::drop_standby() {
  m_standby_query.reset();
  m_standby.reset();
  m_standby_pid = 0;
}

bool PollWorker::standby_check(const Config& config, const std::string& dsn) {
  try {
    if (m_standby && dsn != m_standby_dsn) drop_standby();
    if (!m_standby) {
      connect_standby(config, dsn);
      return true;
    }
    pqxx::nontransaction tx(m_standby->connection());
    tx.exec("SELECT 1");
    return true;
  } catch (const std::exception&) {
    drop_standby();
    return false;
  }
}

PollResult PollWorker::standby_poll(const Config& config, const std::string& dsn,
                                    const LockSnapshot& last,
                                    const std::vector<PoolerReading>& poolers) {
  PollResult result;
  try {
    if (!m_standby) connect_standby(config, dsn);
    result.backend_pid = m_standby->backend_pid();
    ActivityOptions options = options_for(config, m_main_pid);
    const std::vector<int> last_sessions = sessions_of(last);
    options.include_pids.insert(options.include_pids.end(), last_sessions.begin(),
                                last_sessions.end());
    PollSnapshots snapshots = m_standby_query->run_activity_only(options, *published_names());
    snapshots.locks = last;
    snapshots.locks.stale = true;
    auto observation = std::make_shared<Observation>(std::move(snapshots));
    observation->set_pooler_links(attribute_backends(poolers, observation->activity()));
    // The last lock snapshot may be old, but every signal re-checks the session's identity
    // (and so its state and state change) in the statement that sends it: a root still
    // idle in the same transaction still holds what it held.
    result.actions = apply_policies(*observation, config, m_standby->connection());
    result.observation = std::move(observation);
    if (!m_standby->connection().is_open()) drop_standby();
  } catch (const std::exception& e) {
    result.error = one_line(e.what());
    drop_standby();
  }
  return result;
}

}  // namespace lockwatch
