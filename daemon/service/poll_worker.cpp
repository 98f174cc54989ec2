#include "service/poll_worker.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/pooler_attribution.hpp"
#include "core/server_requirements.hpp"

namespace lockwatch {
namespace {

constexpr const char* k_query_canceled = "57014";

std::string one_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

bool same_session_settings(const WatchConfig& a, const WatchConfig& b) {
  return a.statement_timeout == b.statement_timeout && a.lock_timeout == b.lock_timeout &&
         a.connect_timeout == b.connect_timeout;
}

// Whether some policy may send a signal (so the role needs pg_signal_backend).
bool may_signal(const Config& config) {
  return std::any_of(config.policies.begin(), config.policies.end(),
                     [](const Policy& p) { return p.action != PolicyAction::log && !p.dry_run; });
}

}  // namespace

ActivityOptions PollWorker::options_for(const Config& config, int other_session) const {
  ActivityOptions options;
  options.query_text_max = config.watch.query_text_max;
  options.redact_queries = config.watch.redact_queries;
  const CandidateFilter candidates = non_blocking_candidates(config.policies);
  options.candidate_states = candidates.states;
  options.candidate_min_age = candidates.min_state_age;
  {
    const std::lock_guard lock(m_actions_mutex);
    options.include_pids = m_actions.watched_pids();
  }
  if (other_session != 0) options.exclude_pids = {other_session};
  return options;
}

ActionReport PollWorker::apply_policies(const Observation& observation, const Config& config,
                                        pqxx::connection& connection) {
  const std::lock_guard lock(m_actions_mutex);
  return m_actions.run(observation, config, connection);
}

void PollWorker::connect(const Config& config, const std::string& dsn, PollResult& result) {
  const WatchConfig& watch = config.watch;
  // The session arms m_abort as soon as it is connected: the loop's deadline reaches the
  // set-up, the pooler check, the server check and the prepare below as much as the poll.
  auto session = std::make_unique<Session>(
      SessionSettings{dsn, watch.statement_timeout, watch.lock_timeout, watch.connect_timeout},
      m_abort);
  result.reconnected = true;
  result.pooler = session->detect_pooler();
  const ServerInfo server = read_server_info(session->connection());
  if (const auto why = unsupported_server(server.facts)) throw std::runtime_error(*why);
  result.server_version = server.version;
  result.problems = privilege_problems(server.facts, may_signal(config));
  m_query = std::make_unique<ActivityQuery>(session->connection(), server, &m_names);
  {
    const std::lock_guard lock(m_shared_mutex);
    m_server = std::make_shared<const ServerInfo>(server);
  }
  m_main_pid = session->backend_pid();
  m_session = std::move(session);
  m_dsn = dsn;
  m_session_watch = watch;
}

void PollWorker::drop_session() {
  m_query.reset();
  m_session.reset();
  m_main_pid = 0;
}

void PollWorker::publish_names() {
  auto copy = std::make_shared<const NameCache>(m_names);
  const std::lock_guard lock(m_shared_mutex);
  m_names_copy = std::move(copy);
}

std::shared_ptr<const NameCache> PollWorker::published_names() const {
  const std::lock_guard lock(m_shared_mutex);
  return m_names_copy ? m_names_copy : std::make_shared<const NameCache>();
}

std::shared_ptr<const ServerInfo> PollWorker::server() const {
  const std::lock_guard lock(m_shared_mutex);
  return m_server;
}

PollResult PollWorker::poll(const Config& config, const std::string& dsn,
                            const std::vector<PoolerReading>& poolers) {
  PollResult result;
  const WatchConfig& watch = config.watch;
  try {
    if (m_session && (dsn != m_dsn || !same_session_settings(watch, m_session_watch))) {
      drop_session();
    }
    m_names.set_refresh(watch.name_refresh_interval);
    if (!m_session) connect(config, dsn, result);
    result.backend_pid = m_session->backend_pid();
    PollSnapshots snapshots = m_query->run(options_for(config, m_standby_pid));
    result.name_error = m_query->take_name_error();
    if (m_names.version() != m_published_version) {
      publish_names();
      m_published_version = m_names.version();
    }
    auto observation = std::make_shared<Observation>(std::move(snapshots));
    observation->set_pooler_links(attribute_backends(poolers, observation->activity()));
    result.actions = apply_policies(*observation, config, m_session->connection());
    result.observation = std::move(observation);
    // A connection lost while signalling: the poll stands, the next one reconnects.
    if (!m_session->connection().is_open()) drop_session();
  } catch (const pqxx::sql_error& e) {
    // statement_timeout (57014): the server answers, only slowly (its lock table, say,
    // which a reconnect could not get at either); the session stays.
    result.timed_out = e.sqlstate() == k_query_canceled;
    result.error = one_line(e.what());
    if (!result.timed_out) drop_session();
  } catch (const std::exception& e) {
    // Whatever else went wrong, the next poll starts from a fresh session.
    result.error = one_line(e.what());
    drop_session();
  }
  return result;
}

}  // namespace lockwatch
