#include "service/config_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lockwatch {
namespace {

Expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(std::string text) {
  const auto end = text.find_last_not_of(" \t\r\n");
  text.erase(end == std::string::npos ? 0 : end + 1);
  return text.substr(std::min(text.size(), text.find_first_not_of(" \t\r\n")));
}

}  // namespace

std::string expand_credentials_directory(std::string path) {
  const std::string variable = "${CREDENTIALS_DIRECTORY}";
  const auto at = path.find(variable);
  if (at == std::string::npos) return path;
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  return path.replace(at, variable.size(), dir ? dir : "");
}

Expected<Config> load_config_file(const std::string& path) {
  const auto text = read_file(path);
  if (!text) return Error{text.error()};
  return parse_config(*text, path);
}

Expected<std::string> resolve_dsn(const Config& config, const std::string& cli_dsn) {
  if (!cli_dsn.empty()) return cli_dsn;
  if (!config.database.dsn.empty()) return config.database.dsn;
  std::string file = expand_credentials_directory(config.database.dsn_file);
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (file.empty() && credentials) {
    const std::string candidate = std::string(credentials) + "/dsn";
    if (std::ifstream(candidate)) file = candidate;
  }
  if (file.empty()) return std::string();
  const auto text = read_file(file);
  if (!text) return Error{"[database] dsn_file: " + text.error()};
  return trim(*text);
}

Expected<std::string> resolve_pooler_dsn(const PoolerConfig& pooler) {
  if (!pooler.dsn.empty()) return pooler.dsn;
  const auto text = read_file(expand_credentials_directory(pooler.dsn_file));
  if (!text) return Error{"[[pooler]] " + pooler.name + " dsn_file: " + text.error()};
  return trim(*text);
}

}  // namespace lockwatch
