#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "core/command_requests.hpp"
#include "core/config.hpp"
#include "core/observation.hpp"
#include "pg/session.hpp"

namespace lockwatch {

// What an operator command connects with: the config (--config's, or the defaults) and
// the DSN, chosen exactly as the daemon chooses it.
struct CliTarget {
  Config config;
  std::string dsn;
  bool allow_pooler = false;
};

// Loads --config and resolves the DSN; throws std::runtime_error with one readable line.
CliTarget load_cli_target(const ConnectionRequest& request);

// What to do when pooler detection fires: warn on stderr and go on, refuse (throw, unless
// --allow-pooler, which only warns), or not check at all (a second session to the same DSN).
enum class PoolerRule { warn, refuse, skip };

// Connects with `settings` (the DSN is filled in) and applies `rule`; `command` names the
// subcommand in the refusal.
std::unique_ptr<Session> open_cli_session(const CliTarget& target, SessionSettings settings,
                                          PoolerRule rule, const std::string& command);

// [watch]'s timeouts in a read-only session: how check, preflight and terminate connect.
SessionSettings watch_settings(const CliTarget& target);

// The hard deadline of one step of a command, as the daemon's poll has it: a frozen
// server or a dead network cannot hold a command longer. statement_timeout + 1 s, plus
// connect_timeout for a step that connects.
Duration step_deadline(const WatchConfig& watch, bool connects = false);

// Runs `step` (calls on `session`'s connection) and cuts the session off when it takes
// longer than `limit`; the error then says so in one line ("COMMAND: no answer ...").
template <typename Step>
decltype(auto) within_deadline(AbortSwitch& abort, Duration limit, const std::string& command,
                               Step&& step);

// One poll on `session` with every backend's row, analysed (queries normalised per
// [watch]), under step_deadline().
Observation observe(Session& session, const WatchConfig& watch,
                    const std::string& command = "check");

// "COMMAND: no answer from the server within 3.5s (server frozen or network gone?)".
std::string no_answer_error(const std::string& command, Duration limit);

template <typename Step>
decltype(auto) within_deadline(AbortSwitch& abort, Duration limit, const std::string& command,
                               Step&& step) {
  try {
    const AbortAfter deadline(abort, limit);
    return step();
  } catch (const std::exception&) {
    if (abort.reset()) throw std::runtime_error(no_answer_error(command, limit));
    throw;
  }
}

}  // namespace lockwatch
