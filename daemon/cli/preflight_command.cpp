#include <iostream>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/subcommands.hpp"
#include "core/preflight_report.hpp"
#include "pg/lock_conflicts.hpp"

namespace lockwatch {
namespace {

int run_preflight(const PreflightRequest& request) {
  const CliTarget target = load_cli_target(request.connection);
  const auto session =
      open_cli_session(target, watch_settings(target), PoolerRule::warn, "preflight");
  // Locks first, then activity: every holder seen is then in the snapshot unless it ended.
  const auto locks =
      within_deadline(session->abort_switch(), step_deadline(target.config.watch), "preflight",
                      [&] { return read_relation_locks(session->connection(), request.tables); });
  const Observation obs = observe(*session, target.config.watch, "preflight");
  const PreflightReport report =
      assess_preflight(request, obs, locks, session->connection().dbname());
  std::cout << (request.json ? render_preflight_json(report) + "\n"
                             : render_preflight_text(report));
  return report.clear() ? k_exit_ok : k_exit_found;
}

}  // namespace

int preflight_command(std::span<const std::string> raw) {
  auto request = read_request("preflight", raw, preflight_spec(), preflight_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_preflight(std::get<PreflightRequest>(request));
}

}  // namespace lockwatch
