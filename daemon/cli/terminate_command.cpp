#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/subcommands.hpp"
#include "core/termination_plan.hpp"
#include "pg/termination.hpp"

namespace lockwatch {
namespace {

long pending_count(const std::vector<TerminationTarget>& targets) {
  return std::count_if(targets.begin(), targets.end(),
                       [](const auto& t) { return t.outcome == Outcome::pending; });
}

// Shows the plan and asks on the terminal; anything but "y" or "yes" declines.
bool confirmed(const std::vector<TerminationTarget>& targets) {
  std::cerr << render_termination_text(targets);
  const long n = pending_count(targets);
  std::cerr << "terminate " << n << (n == 1 ? " session" : " sessions") << "? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void settle(std::vector<TerminationTarget>& targets, Session& session, bool dry_run,
            const WatchConfig& watch) {
  const Duration exit_wait = exit_wait_within(watch.statement_timeout);
  for (TerminationTarget& t : targets) {
    if (t.outcome != Outcome::pending) continue;
    if (dry_run) {
      t.outcome = Outcome::dry_run;
      continue;
    }
    // The same statement as the daemon's policies: identity re-check and signal in one.
    // Cut off by the deadline it is `unknown` (or `failed` once the session is gone).
    const AbortAfter deadline(session.abort_switch(), step_deadline(watch));
    t.outcome = signal_backend(session.connection(), PolicyAction::terminate, t.identity, exit_wait,
                               t.reason);
  }
}

void print_results(const TerminateRequest& request, const std::vector<TerminationTarget>& targets) {
  if (request.json) {
    std::cout << render_termination_json(targets, request.dry_run) << "\n";
  } else if (request.pid && targets.empty()) {
    std::cout << "no session with pid " << *request.pid << "\n";
  } else if (targets.empty()) {
    std::cout << "nothing to terminate: no session matches\n";
  } else {
    std::cout << render_termination_text(targets);
  }
}

int run_terminate(const TerminateRequest& request) {
  const bool ask = !request.dry_run && !request.yes;
  if (ask && !::isatty(STDIN_FILENO)) {
    // A script must never hang on a prompt nobody sees.
    return usage_error(
        "terminate: stdin is not a terminal: pass --yes to terminate without "
        "confirmation, or --dry-run to see what would be terminated");
  }
  const CliTarget target = load_cli_target(request.connection);
  const auto session =
      open_cli_session(target, watch_settings(target), PoolerRule::refuse, "terminate");
  auto targets = plan_termination(request, observe(*session, target.config.watch, "terminate"),
                                  target.config.safety);
  if (ask && pending_count(targets) > 0 && !confirmed(targets)) {
    std::cout << "declined: nothing terminated\n";
    return k_exit_found;
  }
  settle(targets, *session, request.dry_run, target.config.watch);
  print_results(request, targets);
  return termination_failed(request, targets) ? k_exit_found : k_exit_ok;
}

}  // namespace

int terminate_command(std::span<const std::string> raw) {
  auto request = read_request("terminate", raw, terminate_spec(), terminate_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_terminate(std::get<TerminateRequest>(request));
}

}  // namespace lockwatch
