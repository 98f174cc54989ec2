#include "cli/lockwatch_main.hpp"

#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/subcommands.hpp"

namespace lockwatch {
namespace {

const char* const k_usage = R"(usage: pg_lockwatch COMMAND [OPTIONS]

Watches PostgreSQL for blocking chains (who blocks whom), exports them to Prometheus,
and can end the sessions at their root by policy.

commands:
  run           run the daemon (poll, /metrics, /chains, /healthz, policies)
  check         audit the connections and draw the blocking chains as a tree
  terminate     end a session, or idle-in-transaction ones, with the daemon's protections
  preflight     which locks a migration takes, its safer form, and who would block it now
  ddl           run DDL under lock_timeout with retries, showing what blocks each attempt
  config check  validate a config file
  hash-password print a bcrypt hash of a password (stdin) for [http.basic_auth_users]
  help          this text; "pg_lockwatch COMMAND --help" describes a command

exit codes: 0 fine, 1 the condition looked for is present, 2 usage/config/connection error

check, terminate, preflight and ddl connect like the daemon: --dsn, else [database] of
--config, else libpq's environment (PGHOST, PGPORT, ...); they warn when a pooler is in
the way, and terminate and ddl refuse to run through one unless --allow-pooler.
)";

}  // namespace

int lockwatch_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << k_usage;
    return args.empty() ? k_exit_usage : k_exit_ok;
  }
  if (args[0] == "--version") {
    std::cout << "pg_lockwatch " << LOCKWATCH_VERSION << "\n";
    return k_exit_ok;
  }
  const std::span<const std::string> rest(args.begin() + 1, args.end());
  try {
    if (args[0] == "run") return run_command(rest);
    if (args[0] == "config") return config_command(rest);
    if (args[0] == "check") return check_command(rest);
    if (args[0] == "terminate") return terminate_command(rest);
    if (args[0] == "preflight") return preflight_command(rest);
    if (args[0] == "ddl") return ddl_command(rest);
    if (args[0] == "hash-password") return hash_password_command(rest);
    std::cerr << "pg_lockwatch: unknown command \"" << args[0] << "\" (see pg_lockwatch help)\n";
    return k_exit_usage;
  } catch (const std::exception& e) {
    return usage_error(e.what());  // libpq's errors span lines; the contract is one
  }
}

}  // namespace lockwatch
