#pragma once

namespace lockwatch {

// Exit codes shared by every subcommand.
constexpr int k_exit_ok = 0;
constexpr int k_exit_found = 1;  // the condition looked for is present, or the DDL gave up
constexpr int k_exit_usage = 2;  // usage, config or connection error

// The whole program: dispatches argv to a subcommand; errors become one line on stderr.
int lockwatch_main(int argc, char** argv);

}  // namespace lockwatch
