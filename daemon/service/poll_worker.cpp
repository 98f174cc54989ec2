#include "service/poll_worker.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/server_requirements.hpp"

namespace lockwatch {
namespace {

bool same_session_settings(const WatchConfig& a, const WatchConfig& b) {
  return a.statement_timeout == b.statement_timeout && a.lock_timeout == b.lock_timeout &&
         a.connect_timeout == b.connect_timeout;
}

// Whether some policy may send a signal (so the role needs pg_signal_backend).
bool may_signal(const Config& config) {
  return std::any_of(config.policies.begin(), config.policies.end(),
                     [](const Policy& p) { return p.action != PolicyAction::log && !p.dry_run; });
}

ActivityOptions poll_options(const Config& config) {
  ActivityOptions options;
  options.query_text_max = config.watch.query_text_max;
  options.redact_queries = config.watch.redact_queries;
  const CandidateFilter candidates = non_blocking_candidates(config.policies);
  options.candidate_states = candidates.states;
  options.candidate_min_age = candidates.min_state_age;
  return options;
}

}  // namespace

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
    m_names.set_refresh(watch.name_refresh_interval);
    if (!m_session) connect(config, dsn, result);
    result.backend_pid = m_session->backend_pid();
    ActivityOptions options = poll_options(config);
    options.include_pids = m_actions.watched_pids();
    PollSnapshots snapshots = m_query->run(options);
    result.name_error = m_query->take_name_error();
    auto observation = std::make_shared<const Observation>(std::move(snapshots));
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
