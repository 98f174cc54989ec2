#pragma once

#include <string>

#include "core/config.hpp"

namespace lockwatch {

// Reads and parses a config file; errors name the file (and line and key when parsing).
Expected<Config> load_config_file(const std::string& path);

// `path` with ${CREDENTIALS_DIRECTORY} replaced by systemd's credentials directory.
std::string expand_credentials_directory(std::string path);

// The DSN to connect with: `cli_dsn`, else [database] dsn, else the contents of dsn_file
// (with ${CREDENTIALS_DIRECTORY} expanded), else $CREDENTIALS_DIRECTORY/dsn when systemd
// passed one, else "" so that libpq reads its environment variables.
Expected<std::string> resolve_dsn(const Config& config, const std::string& cli_dsn);

// A pooler's admin-console DSN: its dsn, else the contents of its dsn_file (with
// ${CREDENTIALS_DIRECTORY} expanded); errors name the [[pooler]].
Expected<std::string> resolve_pooler_dsn(const PoolerConfig& pooler);

}  // namespace lockwatch
