#include <iostream>
#include <random>
#include <thread>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/ddl_runner.hpp"
#include "cli/sql_input.hpp"
#include "cli/subcommands.hpp"

namespace lockwatch {
namespace {

using Clock = std::chrono::steady_clock;

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

std::vector<DdlAttempt> run_attempts(DdlRunner& runner, const DdlRequest& request,
                                     const std::string& sql) {
  std::vector<DdlAttempt> attempts;
  for (int number = 1;; ++number) {
    attempts.push_back(runner.attempt(sql, number));
    std::cout << describe_attempt(attempts.back()) << "\n";
    if (attempts.back().result != AttemptResult::lock_timeout || number > request.retries) break;
    const Duration pause = pause_before(request, number);
    std::cout << "retrying in " << format_duration(pause) << "\n" << std::flush;
    std::this_thread::sleep_for(pause);
  }
  return attempts;
}

int exit_code(const DdlAttempt& last) {
  switch (last.result) {
    case AttemptResult::done:
      return k_exit_ok;
    case AttemptResult::lock_timeout:
      return k_exit_found;
    case AttemptResult::error:
      return usage_error("ddl: " + last.error);
  }
  return k_exit_usage;
}

int run_ddl(const DdlRequest& request) {
  const std::string sql = read_sql_input(request.sql, request.file, "ddl");
  if (blank_sql(sql)) {
    return usage_error("ddl: no SQL in " + request.file);
  }
  const CliTarget target = load_cli_target(request.connection);
  const auto ddl = open_ddl_session(target, request);
  const auto report = open_cli_session(target, watch_settings(target), PoolerRule::skip, "ddl");
  DdlRunner runner(*ddl, *report, request, target.config.watch, std::cout);
  std::cout << "ddl: session pid " << runner.ddl_pid() << ", lock_timeout "
            << format_duration(request.lock_timeout) << ", up to " << request.retries + 1
            << " attempts\n"
            << std::flush;
  const auto started = Clock::now();
  const std::vector<DdlAttempt> attempts = run_attempts(runner, request, sql);
  const auto total = std::chrono::duration_cast<Duration>(Clock::now() - started);
  std::cout << summarise_attempts(attempts, total) << "\n" << std::flush;
  return exit_code(attempts.back());
}

}  // namespace

int ddl_command(std::span<const std::string> raw) {
  auto request = read_request("ddl", raw, ddl_spec(), ddl_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_ddl(std::get<DdlRequest>(request));
}

}  // namespace lockwatch
