#include "core/arguments.hpp"

#include <algorithm>

namespace lockwatch {

std::string Arguments::get(const std::string& name, const std::string& fallback) const {
  const auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Arguments::all(const std::string& name) const {
  const auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

Expected<Arguments> parse_arguments(std::span<const std::string> args,
                                    std::span<const OptionSpec> specs) {
  Arguments out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1,
                            args.end());
      break;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      out.positional.push_back(arg);
      continue;
    }
    const auto equals = arg.find('=');
    const std::string name =
        arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const OptionSpec& s) { return s.name == name; });
    if (spec == specs.end()) return Error{"unknown option --" + name};
    if (out.has(name) && !spec->repeatable) return Error{"--" + name + " given twice"};
    if (!spec->takes_value) {
      if (equals != std::string::npos) return Error{"--" + name + " takes no value"};
      out.values[name].push_back("");
      continue;
    }
    if (equals != std::string::npos) {
      out.values[name].push_back(arg.substr(equals + 1));
    } else if (i + 1 < args.size()) {
      out.values[name].push_back(args[++i]);
    } else {
      return Error{"--" + name + " needs a value"};
    }
  }
  return out;
}

std::string describe_options(std::span<const OptionSpec> specs) {
  std::string out;
  for (const OptionSpec& s : specs) {
    std::string left = "  --" + s.name + (s.takes_value ? " VALUE" : "");
    left.resize(std::max<std::size_t>(left.size() + 2, 28), ' ');
    out += left + s.help + "\n";
  }
  return out;
}

}  // namespace lockwatch
