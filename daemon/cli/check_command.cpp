#include <iostream>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/subcommands.hpp"
#include "core/chain_report.hpp"
#include "core/chain_tree.hpp"
#include "core/connection_audit.hpp"
#include "core/text_format.hpp"

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

int run_check(const CheckRequest& request) {
  const CliTarget target = load_cli_target(request.connection);
  const auto session = open_cli_session(target, watch_settings(target), PoolerRule::warn, "check");
  const Observation obs = observe(*session, target.config.watch);
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
