#pragma once

#include <memory>
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

// One poll on `session` with every backend's row, analysed (queries normalised per [watch]).
Observation observe(Session& session, const WatchConfig& watch);

}  // namespace lockwatch
