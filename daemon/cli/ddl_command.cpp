#include <atomic>
#include <csignal>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/ddl_runner.hpp"
#include "cli/invalid_index_watch.hpp"
#include "cli/sql_input.hpp"
#include "cli/subcommands.hpp"

namespace lockwatch {
namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT and SIGTERM; the handler then restores the default, so a second Ctrl-C
// ends the program at once.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_interrupt(int) {
  g_interrupted = true;
}

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// The DDL's own session: read-write, with the request's timeouts.
std::unique_ptr<Session> open_ddl_session(const CliTarget& target, const DdlRequest& request) {
  SessionSettings settings = watch_settings(target);
  settings.statement_timeout = request.statement_timeout;
  settings.lock_timeout = request.lock_timeout;
  settings.read_only = false;
  return open_cli_session(target, settings, PoolerRule::refuse, "ddl");
}

Duration pause_before(const DdlRequest& request, int retry) {
  static std::mt19937 random{std::random_device{}()};
  return retry_pause(request.retry_delay, retry,
                     std::uniform_real_distribution<double>(0.0, 1.0)(random));
}

Duration since(Clock::time_point start) {
  return std::chrono::duration_cast<Duration>(Clock::now() - start);
}

// Sleeps `pause`, or less when interrupted; false when interrupted.
bool interruptible_sleep(Duration pause) {
  const auto until = Clock::now() + pause;
  while (!g_interrupted && Clock::now() < until) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
  }
  return !g_interrupted;
}

struct Run {
  std::vector<DdlAttempt> attempts;
};

Run run_attempts(DdlRunner& runner, InvalidIndexWatch& invalid, const DdlRequest& request,
                 const std::string& sql) {
  Run run;
  const auto started = Clock::now();
  Duration pause{0};
  for (int number = 1;; ++number) {
    const NextAttempt next =
        plan_attempt(request.max_wait, since(started), pause, request.lock_timeout);
    if (!next.allowed) {
      std::cout << "stopping: the --max-wait budget of " << format_duration(request.max_wait)
                << " is spent\n";
      break;
    }
    if (number > 1) {
      std::cout << "retrying in " << format_duration(next.pause) << "\n" << std::flush;
      if (!interruptible_sleep(next.pause)) {
        std::cout << "interrupted while waiting to retry\n";
        break;
      }
    }
    std::optional<DdlAttempt> dropped = invalid.drop_pending(number, next.lock_timeout);
    run.attempts.push_back(dropped ? std::move(*dropped)
                                   : runner.attempt(sql, number, next.lock_timeout));
    const DdlAttempt& last = run.attempts.back();
    std::cout << describe_attempt(last) << "\n" << std::flush;
    if (last.result != AttemptResult::done && !invalid.after_failure(number)) break;
    if (!retryable(last.result) || number > request.retries || g_interrupted) break;
    pause = pause_before(request, number);
  }
  return run;
}

int exit_code(const Run& run) {
  switch (run.attempts.back().result) {
    case AttemptResult::done:
      return k_exit_ok;
    case AttemptResult::error:
      return usage_error("ddl: " + run.attempts.back().error);
    case AttemptResult::lock_timeout:
    case AttemptResult::deadlock:
    case AttemptResult::interrupted:
      return k_exit_found;
  }
  return k_exit_found;
}

std::string header(const DdlRunner& runner, const DdlRequest& request) {
  return "ddl: session pid " + std::to_string(runner.ddl_pid()) + ", lock_timeout " +
         format_duration(request.lock_timeout) + ", up to " + std::to_string(request.retries + 1) +
         " attempts" +
         (request.max_wait.count() > 0 ? " within " + format_duration(request.max_wait) : "");
}

int run_ddl(const DdlRequest& request) {
  const std::string sql = read_sql_input(request.sql, request.file, "ddl");
  if (blank_sql(sql)) {
    return usage_error("ddl: no SQL in " + request.file);
  }
  catch_interrupts();
  const CliTarget target = load_cli_target(request.connection);
  const auto ddl = open_ddl_session(target, request);
  const auto report = open_cli_session(target, watch_settings(target), PoolerRule::skip, "ddl");
  DdlRunner runner(*ddl, *report, request, target.config.watch, std::cout, g_interrupted);
  InvalidIndexWatch invalid(runner, request, concurrent_builds(sql));
  std::cout << header(runner, request) << "\n" << std::flush;
  invalid.before_first();
  const auto started = Clock::now();
  const Run run = run_attempts(runner, invalid, request, sql);
  if (run.attempts.empty()) {
    std::cout << (g_interrupted ? "interrupted before the first attempt" : "nothing attempted")
              << "\n";
    return k_exit_found;
  }
  std::cout << summarise_attempts(run.attempts, since(started)) << "\n" << std::flush;
  return exit_code(run);
}

}  // namespace

int ddl_command(std::span<const std::string> raw) {
  auto request = read_request("ddl", raw, ddl_spec(), ddl_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_ddl(std::get<DdlRequest>(request));
}

}  // namespace lockwatch
