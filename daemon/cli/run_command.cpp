#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <iostream>
#include <string>

#include "cli/command_line.hpp"
#include "cli/lockwatch_main.hpp"
#include "cli/subcommands.hpp"
#include "core/arguments.hpp"
#include "service/config_file.hpp"
#include "service/logging.hpp"
#include "service/watch_service.hpp"

namespace lockwatch {
namespace {

const std::vector<OptionSpec> k_run_options = {
    {"config", true, false, "TOML config file (see config/pg_lockwatch.toml)"},
    {"dsn", true, false, "libpq conninfo or URI; overrides [database]"},
    {"listen", true, false, "HOST:PORT for /metrics, /chains, /healthz; overrides [http] listen"},
    {"help", false, false, "this text"},
};

const std::vector<OptionSpec> k_config_options = {{"help", false, false, "this text"}};

}  // namespace

int run_command(std::span<const std::string> raw) {
  const auto args = parse_arguments(raw, k_run_options);
  if (!args) return usage_error("run: " + args.error());
  if (args->has("help")) {
    std::cout << "usage: pg_lockwatch run [--config FILE] [--dsn DSN] [--listen HOST:PORT]\n\n"
              << describe_options(k_run_options);
    return k_exit_ok;
  }
  if (!args->positional.empty()) return usage_error("run: unexpected " + args->positional[0]);
  const std::string path = args->get("config");
  Expected<Config> config = path.empty() ? Expected<Config>(Config{}) : load_config_file(path);
  if (!config) return usage_error(config.error());
  configure_logging(config->log);
  boost::asio::io_context io;
  WatchService service(io, ServiceOptions{path, args->get("dsn"), args->get("listen")},
                       std::move(*config));
  try {
    service.start();
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }
  io.run();
  spdlog::info("stopped");
  return k_exit_ok;
}

int config_command(std::span<const std::string> raw) {
  const auto args = parse_arguments(raw, k_config_options);
  if (!args) return usage_error("config: " + args.error());
  if (args->has("help") || args->positional.size() != 2 || args->positional[0] != "check") {
    std::cout << "usage: pg_lockwatch config check FILE\n"
              << "  validates FILE; exit 0 when valid, 2 with file:line: key: error otherwise\n";
    return args->has("help") ? k_exit_ok : k_exit_usage;
  }
  const auto config = load_config_file(args->positional[1]);
  if (!config) return usage_error(config.error());
  const auto count = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::cout << args->positional[1] << ": ok ("
            << count(config->policies.size(), "policy", "policies") << ", "
            << count(config->poolers.size(), "pooler", "poolers") << ")\n";
  return k_exit_ok;
}

}  // namespace lockwatch
