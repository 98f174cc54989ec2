#pragma once

#include <iostream>
#include <span>
#include <string>
#include <variant>

#include "cli/lockwatch_main.hpp"
#include "core/command_requests.hpp"

namespace lockwatch {

// Prints "pg_lockwatch: MESSAGE" (on one line) on stderr and returns k_exit_usage.
int usage_error(const std::string& message);

// `text` on one line: newlines and tabs (libpq's multi-line errors) become spaces.
std::string one_line(std::string text);

// A subcommand's validated request, or the exit code when there is nothing to run.
template <typename Request>
using RequestOrExit = std::variant<Request, int>;

// Parses and validates a subcommand's arguments; prints --help (exit 0) or one usage
// error line (exit 2) instead when that is all there is to do.
template <typename Request>
RequestOrExit<Request> read_request(const std::string& command, std::span<const std::string> raw,
                                    const CommandSpec& spec,
                                    Expected<Request> (*validate)(const Arguments&)) {
  const auto args = parse_arguments(raw, spec.options);
  const std::string see_help = " (see pg_lockwatch " + command + " --help)";
  if (!args) return usage_error(command + ": " + args.error() + see_help);
  if (args->has("help")) {
    std::cout << command_help(spec);
    return k_exit_ok;
  }
  auto request = validate(*args);
  if (!request) return usage_error(command + ": " + request.error() + see_help);
  return std::move(*request);
}

}  // namespace lockwatch
