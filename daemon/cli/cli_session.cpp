#include "cli/cli_session.hpp"

#include <iostream>
#include <stdexcept>

#include "pg/activity_query.hpp"
#include "service/config_file.hpp"

namespace lockwatch {

CliTarget load_cli_target(const ConnectionRequest& request) {
  Expected<Config> config = request.config_path.empty() ? Expected<Config>(Config{})
                                                        : load_config_file(request.config_path);
  if (!config) throw std::runtime_error(config.error());
  const auto dsn = resolve_dsn(*config, request.dsn);
  if (!dsn) throw std::runtime_error(dsn.error());
  return CliTarget{std::move(*config), *dsn, request.allow_pooler};
}

std::unique_ptr<Session> open_cli_session(const CliTarget& target, SessionSettings settings,
                                          PoolerRule rule, const std::string& command) {
  settings.dsn = target.dsn;
  auto abort = std::make_shared<AbortSwitch>();
  std::unique_ptr<Session> session;
  PoolerCheck pooler;
  within_deadline(*abort, step_deadline(target.config.watch, true), command, [&] {
    session = std::make_unique<Session>(settings, abort);
    if (rule != PoolerRule::skip) pooler = session->detect_pooler();
  });
  if (rule == PoolerRule::skip) return session;
  if (!pooler.via_pooler) return session;
  if (rule == PoolerRule::refuse && !target.allow_pooler) {
    throw std::runtime_error(command + ": refusing to run through a pooler or proxy (" +
                             pooler.reason +
                             "); connect to the server directly, or pass --allow-pooler");
  }
  // A pooler hides which server session holds a lock and may move ours between them.
  std::cerr << "pg_lockwatch: warning: the connection goes through a pooler or proxy ("
            << pooler.reason << "); connect to the server directly, or blockers may be hidden\n";
  return session;
}

SessionSettings watch_settings(const CliTarget& target) {
  const WatchConfig& watch = target.config.watch;
  return SessionSettings{target.dsn, watch.statement_timeout, watch.lock_timeout,
                         watch.connect_timeout, true};
}

Duration step_deadline(const WatchConfig& watch, bool connects) {
  return watch.statement_timeout + std::chrono::seconds(1) +
         (connects ? watch.connect_timeout : Duration(0));
}

std::string no_answer_error(const std::string& command, Duration limit) {
  return command + ": no answer from the server within " + format_duration(limit) +
         " (server frozen or network gone?)";
}

Observation observe(Session& session, const WatchConfig& watch, const std::string& command) {
  PollSnapshots snapshots =
      within_deadline(session.abort_switch(), step_deadline(watch), command, [&] {
        ActivityQuery query(session.connection(), read_server_info(session.connection()));
        ActivityOptions options;
        options.query_text_max = watch.query_text_max;
        options.redact_queries = watch.redact_queries;
        options.complete = true;  // the audit counts and lists every session
        return query.run(options);
      });
  return Observation(std::move(snapshots));
}

}  // namespace lockwatch
