#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.hpp"
#include "core/expected.hpp"

namespace lockwatch {

using namespace std::chrono_literals;

enum class LogFormat { text, json };
enum class PolicyAction { terminate, cancel, log };

struct DatabaseConfig {
  std::string dsn;       // libpq conninfo or URI; empty: libpq environment variables
  std::string dsn_file;  // read the DSN from this file; ${CREDENTIALS_DIRECTORY} expands
};

// A pooler whose admin console names the clients behind its server connections.
struct PoolerConfig {
  std::string name;
  std::string kind = "pgbouncer";
  std::string dsn;             // of the admin console (dbname=pgbouncer)
  std::string dsn_file;        // read the DSN from this file; ${CREDENTIALS_DIRECTORY} expands
  Duration min_interval = 1s;  // read at most this often, and only while a chain exists
  Duration timeout = 1s;       // a read that takes longer is cut off
};

struct WatchConfig {
  Duration interval = 2s;
  Duration statement_timeout = 2s;
  Duration lock_timeout = 100ms;
  Duration connect_timeout = 5s;
  int query_text_max = 1024;
  int top_roots = 5;
  bool redact_queries = true;
  int chains_roots = 20;                  // roots /chains lists in full; the rest are counted
  int chains_waiters = 20;                // waiters per root /chains lists in detail (0: all)
  Duration name_refresh_interval = 1min;  // role, database and relation names re-read
};

struct HttpConfig {
  std::string listen = "127.0.0.1:9188";
  std::string tls_certificate;  // PEM certificate (chain); empty: plain HTTP
  std::string tls_key;          // PEM private key; empty: it is in tls_certificate
  std::map<std::string, std::string> basic_auth_users;  // name -> crypt(3) hash; empty: no auth
  bool healthz_requires_auth = false;

  bool tls() const { return !tls_certificate.empty(); }
  bool auth() const { return !basic_auth_users.empty(); }
  bool operator==(const HttpConfig&) const = default;
};

struct LogConfig {
  std::string level = "info";
  LogFormat format = LogFormat::text;
};

struct SafetyConfig {
  bool dry_run = true;
  int max_actions_per_minute = 6;
  std::vector<std::string> protected_users = {"postgres"};
  std::vector<std::string> protected_applications = {"pg_dump", "pg_basebackup", "pg_lockwatch"};
  bool allow_superusers = false;
};

// Glob lists: a backend matches when it matches one include glob and no exclude glob.
struct GlobFilter {
  std::vector<std::string> include = {"*"};
  std::vector<std::string> exclude;
};

struct Policy {
  std::string name;
  PolicyAction action = PolicyAction::log;
  std::vector<std::string> states = {"idle in transaction", "idle in transaction (aborted)"};
  Duration min_state_age = 0s;
  Duration min_xact_age = 0s;
  bool only_if_blocking = true;
  int min_blocked = 1;
  Duration min_blocked_wait = 0s;
  bool roots_only = true;
  GlobFilter applications;
  GlobFilter users;
  GlobFilter databases;
  GlobFilter client_addrs;
  // The real client behind a pooler (set: only sessions a pooler names the client of match).
  std::vector<std::string> pooler_client_addrs;
  std::vector<std::string> pooler_applications;
  bool dry_run = true;  // [safety] dry_run unless the policy sets its own
};

struct Config {
  DatabaseConfig database;
  WatchConfig watch;
  HttpConfig http;
  LogConfig log;
  SafetyConfig safety;
  std::vector<Policy> policies;
  std::vector<PoolerConfig> poolers;
};

// Parses a TOML config; `source` names the file in errors, which read
// "<source>:<line>: [section] key: what is wrong".
Expected<Config> parse_config(std::string_view text, std::string_view source);

// "terminate", "cancel" or "log".
std::string_view to_string(PolicyAction action);

}  // namespace lockwatch
