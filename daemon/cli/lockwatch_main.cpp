#include "cli/lockwatch_main.hpp"

#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "cli/subcommands.hpp"

namespace lockwatch {
namespace {

const char* const k_usage = R"(usage: pg_lockwatch COMMAND [OPTIONS]

Watches PostgreSQL for blocking chains (who blocks whom), exports them to Prometheus,
and can end the sessions at their root by policy.

commands:
  run           run the daemon (poll, /metrics, /chains, /healthz, policies)
  config check  validate a config file
  help          this text; "pg_lockwatch COMMAND --help" describes a command

exit codes: 0 fine, 1 the condition looked for is present, 2 usage/config/connection error
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
    std::cerr << "pg_lockwatch: unknown command \"" << args[0] << "\" (see pg_lockwatch help)\n";
    return k_exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "pg_lockwatch: " << e.what() << "\n";
    return k_exit_usage;
  }
}

}  // namespace lockwatch
