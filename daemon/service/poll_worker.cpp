#include "service/poll_worker.hpp"

namespace lockwatch {
namespace {

bool same_session_settings(const WatchConfig& a, const WatchConfig& b) {
  return a.statement_timeout == b.statement_timeout && a.lock_timeout == b.lock_timeout &&
         a.connect_timeout == b.connect_timeout;
}

}  // namespace

void PollWorker::connect(const WatchConfig& watch, const std::string& dsn, PollResult& result) {
  // The session arms m_abort as soon as it is connected: the loop's deadline reaches the
  // set-up, the pooler check and the prepare below as much as the poll itself.
  auto session = std::make_unique<Session>(
      SessionSettings{dsn, watch.statement_timeout, watch.lock_timeout, watch.connect_timeout},
      m_abort);
  result.reconnected = true;
  result.pooler = session->detect_pooler();
  result.server_version = session->server_version();
  m_query = std::make_unique<ActivityQuery>(session->connection());
  m_session = std::move(session);
  m_dsn = dsn;
  m_session_watch = watch;
}

void PollWorker::drop_session() {
  m_query.reset();
  m_session.reset();
}

PollResult PollWorker::poll(const Config& config, const std::string& dsn) {
  PollResult result;
  const WatchConfig& watch = config.watch;
  try {
    if (m_session && (dsn != m_dsn || !same_session_settings(watch, m_session_watch))) {
      drop_session();
    }
    if (!m_session) connect(watch, dsn, result);
    result.backend_pid = m_session->backend_pid();
    ActivitySnapshot snapshot =
        m_query->run(ActivityOptions{watch.query_text_max, watch.redact_queries});
    auto observation = std::make_shared<const Observation>(std::move(snapshot));
    result.actions = m_actions.run(*observation, config, m_session->connection());
    result.observation = std::move(observation);
    // A connection lost while signalling: the poll stands, the next one reconnects.
    if (!m_session->connection().is_open()) drop_session();
  } catch (const std::exception& e) {
    // Whatever went wrong, the next poll starts from a fresh session.
    result.error = e.what();
    while (!result.error.empty() && result.error.back() == '\n') result.error.pop_back();
    drop_session();
  }
  return result;
}

}  // namespace lockwatch
