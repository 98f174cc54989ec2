#include <iostream>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/subcommands.hpp"
#include "core/chain_report.hpp"
#include "core/chain_tree.hpp"
#include "core/connection_audit.hpp"
#include "core/pooler_attribution.hpp"
#include "core/text_format.hpp"
#include "pg/pooler_console.hpp"
#include "service/config_file.hpp"

namespace lockwatch {
namespace {

std::string chains_headline(const LockAnalysis& locks) {
  if (locks.roots.empty()) return "blocking chains: none\n";
  const auto roots = locks.roots.size();
  return "blocking chains: " + std::to_string(roots) +
         (roots == 1 ? " root holds" : " roots hold") + " up " + std::to_string(locks.blocked) +
         " backend(s); longest chain " + std::to_string(locks.max_chain_length) +
         ", longest wait " + whole_seconds(locks.longest_wait_seconds) + "\n";
}

ReportLimits limits(const CheckRequest& request) {
  ReportLimits out;
  out.roots = static_cast<std::size_t>(request.max_roots);
  out.waiters = static_cast<std::size_t>(request.max_waiters);
  return out;
}

std::string check_json(const Observation& obs, const CheckRequest& request) {
  return "{\"audit\": " + render_audit_json(audit_connections(obs.activity())) +
         ", \"chains\": " + render_chains_json(obs, {}, limits(request)) + "}\n";
}

std::string check_text(const Observation& obs, const CheckRequest& request) {
  TreeOptions tree;
  tree.max_waiters = static_cast<std::size_t>(request.max_waiters);
  tree.max_roots = static_cast<std::size_t>(request.max_roots);
  return render_audit_text(audit_connections(obs.activity())) + "\n" +
         chains_headline(obs.locks()) + render_chain_tree(obs, tree);
}

// The consoles of --pooler and of the config's [[pooler]] tables; a --pooler is named
// "pgbouncer" ("pgbouncer-2", ... when there are several).
// A DSN libpq cannot parse is a usage error, not a pooler that is down.
void check_pooler_dsn(const std::string& name, const std::string& dsn) {
  try {
    build_conninfo(dsn, PoolerConfig{}.timeout);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("check: pooler " + name + ": " + e.what());
  }
}

std::vector<std::unique_ptr<PoolerConsole>> pooler_consoles(const CheckRequest& request,
                                                            const Config& config) {
  std::vector<std::unique_ptr<PoolerConsole>> consoles;
  for (const PoolerConfig& p : config.poolers) {
    auto dsn = resolve_pooler_dsn(p);
    if (!dsn) throw std::runtime_error(dsn.error());
    check_pooler_dsn(p.name, *dsn);
    consoles.push_back(std::make_unique<PoolerConsole>(p.name, *dsn, p.timeout));
  }
  for (std::size_t i = 0; i < request.poolers.size(); ++i) {
    const std::string name = i == 0 ? "pgbouncer" : "pgbouncer-" + std::to_string(i + 1);
    check_pooler_dsn(name, request.poolers[i]);
    consoles.push_back(
        std::make_unique<PoolerConsole>(name, request.poolers[i], PoolerConfig{}.timeout));
  }
  return consoles;
}

// Read before the server: a link read after the activity snapshot could be another client's.
std::vector<PoolerReading> read_poolers(
    const std::vector<std::unique_ptr<PoolerConsole>>& consoles) {
  std::vector<PoolerReading> readings;
  for (const auto& console : consoles) {
    readings.push_back(console->read());
    if (!readings.back().up) {
      std::cerr << "check: pooler " << console->name()
                << " not read, its clients are not named: " << readings.back().error << "\n";
    }
  }
  return readings;
}

int run_check(const CheckRequest& request) {
  const CliTarget target = load_cli_target(request.connection);
  const auto consoles = pooler_consoles(request, target.config);
  const auto session = open_cli_session(target, watch_settings(target), PoolerRule::warn, "check");
  const std::vector<PoolerReading> readings = read_poolers(consoles);
  Observation obs = observe(*session, target.config.watch);
  obs.set_pooler_links(attribute_backends(readings, obs.activity()));
  std::cout << (request.json ? check_json(obs, request) : check_text(obs, request));
  // Someone waits on a lock another session holds or is queued for: the incident is on.
  return obs.locks().blocked > 0 ? k_exit_found : k_exit_ok;
}

}  // namespace

int check_command(std::span<const std::string> raw) {
  auto request = read_request("check", raw, check_spec(), check_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_check(std::get<CheckRequest>(request));
}

}  // namespace lockwatch
