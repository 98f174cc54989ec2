#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/expected.hpp"

namespace lockwatch {

// One --option a subcommand accepts.
struct OptionSpec {
  std::string name;  // without the leading dashes
  bool takes_value = false;
  bool repeatable = false;
  std::string help;
};

// The options and positional arguments of one subcommand.
struct Arguments {
  std::map<std::string, std::vector<std::string>> values;  // option -> values ("" for flags)
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return values.count(name) != 0; }
  // The last value given for `name`, or `fallback`.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
};

// Parses "--name value", "--name=value" and flags against `specs`; "--" ends options.
// Errors are one readable line, e.g. "unknown option --foo".
Expected<Arguments> parse_arguments(std::span<const std::string> args,
                                    std::span<const OptionSpec> specs);

// The options part of --help: one line per option.
std::string describe_options(std::span<const OptionSpec> specs);

}  // namespace lockwatch
