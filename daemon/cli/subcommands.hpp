#pragma once

#include <span>
#include <string>

namespace lockwatch {

// Each subcommand takes the arguments after its name and returns the exit code.
int run_command(std::span<const std::string> args);
int config_command(std::span<const std::string> args);
int check_command(std::span<const std::string> args);
int terminate_command(std::span<const std::string> args);
int preflight_command(std::span<const std::string> args);
int ddl_command(std::span<const std::string> args);
int hash_password_command(std::span<const std::string> args);

}  // namespace lockwatch
