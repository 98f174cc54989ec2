#include "core/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>

#include "core/password_hash.hpp"

namespace lockwatch {
namespace {

// Thrown inside the parser only; parse_config turns it into an Error.
struct ConfigError {
  std::string message;
};

// One table of the file and how errors name it: "[watch]" or "[[policy]] #2".
struct Section {
  const toml::table& table;
  std::string name;
};

class Reader {
 public:
  explicit Reader(std::string_view source) : m_source(source) {}

  [[noreturn]] void fail(const toml::source_region& where, const Section& section,
                         std::string_view key, const std::string& what) const {
    const std::string prefix = section.name.empty() ? "" : section.name + " ";
    throw ConfigError{m_source + ":" + std::to_string(where.begin.line) + ": " + prefix +
                      std::string(key) + ": " + what};
  }

  void check_keys(const Section& section, std::initializer_list<std::string_view> known) const {
    for (auto&& [key, node] : section.table) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
        fail(key.source(), section, key.str(), "unknown key");
      }
    }
  }

  // The node for `key`, checked to hold type T; nullptr when the key is absent.
  template <typename T>
  const toml::value<T>* typed(const Section& section, std::string_view key,
                              std::string_view type_name) const {
    const toml::node* node = section.table.get(key);
    if (!node) return nullptr;
    if (!node->is<T>()) {
      fail(node->source(), section, key,
           "expected " + std::string(type_name) + ", got " + type_of(*node));
    }
    return node->as<T>();
  }

  void read(const Section& s, std::string_view key, std::string& out) const {
    if (const auto* v = typed<std::string>(s, key, "a string")) out = v->get();
  }

  void read(const Section& s, std::string_view key, bool& out) const {
    if (const auto* v = typed<bool>(s, key, "true or false")) out = v->get();
  }

  void read(const Section& s, std::string_view key, int& out, int min, int max) const {
    const auto* v = typed<std::int64_t>(s, key, "an integer");
    if (!v) return;
    if (v->get() < min || v->get() > max) {
      fail(v->source(), s, key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<int>(v->get());
  }

  void read(const Section& s, std::string_view key, Duration& out, Duration min) const {
    const auto* v = typed<std::string>(s, key, "a duration string such as \"5s\"");
    if (!v) return;
    const auto parsed = parse_duration(v->get());
    if (!parsed) fail(v->source(), s, key, parsed.error());
    if (*parsed < min) fail(v->source(), s, key, "must be at least " + format_duration(min));
    out = *parsed;
  }

  // A table of strings, such as [http.basic_auth_users].
  void read(const Section& s, std::string_view key, std::map<std::string, std::string>& out) const {
    const toml::node* node = s.table.get(key);
    if (!node) return;
    const toml::table* table = node->as_table();
    if (!table) fail(node->source(), s, key, "expected a table, got " + type_of(*node));
    out.clear();
    for (auto&& [name, value] : *table) {
      const std::string entry = std::string(key) + "." + std::string(name.str());
      if (!value.is_string()) fail(value.source(), s, entry, "expected a string");
      out.emplace(name.str(), *value.value<std::string>());
    }
  }

  void read(const Section& s, std::string_view key, std::vector<std::string>& out) const {
    const toml::node* node = s.table.get(key);
    if (!node) return;
    const toml::array* array = node->as_array();
    if (!array) fail(node->source(), s, key, "expected an array of strings, got " + type_of(*node));
    out.clear();
    for (const toml::node& item : *array) {
      if (!item.is_string()) fail(item.source(), s, key, "expected an array of strings");
      out.push_back(*item.value<std::string>());
    }
  }

  // Reads a string and checks it is one of `allowed`.
  void read_choice(const Section& s, std::string_view key, std::string& out,
                   std::initializer_list<std::string_view> allowed) const {
    read(s, key, out);
    if (std::find(allowed.begin(), allowed.end(), out) != allowed.end()) return;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(s.table.get(key)->source(), s, key, "\"" + out + "\" is not one of: " + list);
  }

  Section section(const toml::table& root, std::string_view name) const {
    static const toml::table k_empty;
    const toml::node* node = root.get(name);
    if (!node) return Section{k_empty, "[" + std::string(name) + "]"};
    if (!node->is_table()) {
      fail(node->source(), Section{root, ""}, name, "expected a table [" + std::string(name) + "]");
    }
    return Section{*node->as_table(), "[" + std::string(name) + "]"};
  }

 private:
  static std::string type_of(const toml::node& node) {
    switch (node.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::table:
        return "a table";
      default:
        return "a date/time";
    }
  }

  std::string m_source;
};

void read_database(const Reader& r, const Section& s, DatabaseConfig& out) {
  r.check_keys(s, {"dsn", "dsn_file"});
  r.read(s, "dsn", out.dsn);
  r.read(s, "dsn_file", out.dsn_file);
  if (!out.dsn.empty() && !out.dsn_file.empty()) {
    r.fail(s.table.get("dsn_file")->source(), s, "dsn_file",
           "set either dsn or dsn_file, not both");
  }
}

void read_watch(const Reader& r, const Section& s, WatchConfig& out) {
  r.check_keys(s, {"interval", "statement_timeout", "lock_timeout", "connect_timeout",
                   "query_text_max", "top_roots", "redact_queries", "chains_roots",
                   "chains_waiters", "name_refresh_interval"});
  r.read(s, "interval", out.interval, 100ms);
  r.read(s, "statement_timeout", out.statement_timeout, 10ms);
  r.read(s, "lock_timeout", out.lock_timeout, 1ms);
  r.read(s, "connect_timeout", out.connect_timeout, 2s);
  r.read(s, "query_text_max", out.query_text_max, 16, 1 << 20);
  r.read(s, "top_roots", out.top_roots, 0, 100);
  r.read(s, "redact_queries", out.redact_queries);
  r.read(s, "chains_roots", out.chains_roots, 1, 10'000);
  r.read(s, "chains_waiters", out.chains_waiters, 0, 100'000);
  r.read(s, "name_refresh_interval", out.name_refresh_interval, 1s);
}

void read_basic_auth_users(const Reader& r, const Section& s, HttpConfig& out) {
  r.read(s, "basic_auth_users", out.basic_auth_users);
  const toml::node* node = s.table.get("basic_auth_users");
  if (node && out.basic_auth_users.empty()) {
    r.fail(node->source(), s, "basic_auth_users", "no users: add one or remove the table");
  }
  for (const auto& [user, hash] : out.basic_auth_users) {
    const toml::node& entry = *node->as_table()->get(user);
    const std::string key = "basic_auth_users." + user;
    if (user.empty() || user.find_first_of(":\r\n") != std::string::npos) {
      r.fail(entry.source(), s, key, "a user name must be non-empty and contain no colon");
    }
    if (const std::string problem = password_hash_problem(hash); !problem.empty()) {
      r.fail(entry.source(), s, key, problem);
    }
  }
}

void read_http(const Reader& r, const Section& s, HttpConfig& out) {
  r.check_keys(
      s, {"listen", "tls_certificate", "tls_key", "basic_auth_users", "healthz_requires_auth"});
  r.read(s, "listen", out.listen);
  r.read(s, "tls_certificate", out.tls_certificate);
  r.read(s, "tls_key", out.tls_key);
  if (!out.tls_key.empty() && out.tls_certificate.empty()) {
    r.fail(s.table.get("tls_key")->source(), s, "tls_key", "set tls_certificate too");
  }
  read_basic_auth_users(r, s, out);
  r.read(s, "healthz_requires_auth", out.healthz_requires_auth);
}

void read_log(const Reader& r, const Section& s, LogConfig& out) {
  r.check_keys(s, {"level", "format"});
  r.read_choice(s, "level", out.level, {"trace", "debug", "info", "warn", "error", "off"});
  std::string format = out.format == LogFormat::json ? "json" : "text";
  r.read_choice(s, "format", format, {"text", "json"});
  out.format = format == "json" ? LogFormat::json : LogFormat::text;
}

void read_safety(const Reader& r, const Section& s, SafetyConfig& out) {
  r.check_keys(s, {"dry_run", "max_actions_per_minute", "protected_users", "protected_applications",
                   "allow_superusers"});
  r.read(s, "dry_run", out.dry_run);
  r.read(s, "max_actions_per_minute", out.max_actions_per_minute, 0, 10'000);
  r.read(s, "protected_users", out.protected_users);
  r.read(s, "protected_applications", out.protected_applications);
  r.read(s, "allow_superusers", out.allow_superusers);
}

void read_filter(const Reader& r, const Section& s, std::string_view plural, GlobFilter& out) {
  r.read(s, plural, out.include);
  r.read(s, "exclude_" + std::string(plural), out.exclude);
}

void check_states(const Reader& r, const Section& s, const std::vector<std::string>& states) {
  static const std::initializer_list<std::string_view> k_states = {"active",
                                                                   "idle",
                                                                   "idle in transaction",
                                                                   "idle in transaction (aborted)",
                                                                   "fastpath function call",
                                                                   "disabled"};
  for (const std::string& state : states) {
    if (std::find(k_states.begin(), k_states.end(), state) == k_states.end()) {
      r.fail(s.table.get("states")->source(), s, "states",
             "\"" + state + "\" is not a pg_stat_activity state");
    }
  }
}

// pg_cancel_backend() stops the running statement; a session idle (in a transaction or
// not) runs none and ignores the cancel, which would then be audited as "cancelled".
void check_cancel_states(const Reader& r, const Section& s, const Policy& p) {
  if (p.action != PolicyAction::cancel) return;
  const toml::node* states = s.table.get("states");
  if (!states) {
    r.fail(s.table.get("action")->source(), s, "action",
           "\"cancel\" stops a running statement and the default states (idle in "
           "transaction) run none: set states = [\"active\"], or use action = \"terminate\"");
  }
  for (const std::string& state : p.states) {
    if (state == "active" || state == "fastpath function call") continue;
    r.fail(states->source(), s, "states",
           "\"" + state +
               "\" runs no statement for action = \"cancel\" to stop: keep \"active\" (and "
               "\"fastpath function call\") only, or use action = \"terminate\"");
  }
}

Policy read_policy(const Reader& r, const Section& s, const SafetyConfig& safety) {
  r.check_keys(s, {"name",
                   "action",
                   "states",
                   "min_state_age",
                   "min_xact_age",
                   "only_if_blocking",
                   "min_blocked",
                   "min_blocked_wait",
                   "roots_only",
                   "applications",
                   "exclude_applications",
                   "users",
                   "exclude_users",
                   "databases",
                   "exclude_databases",
                   "client_addrs",
                   "exclude_client_addrs",
                   "pooler_client_addrs",
                   "pooler_applications",
                   "dry_run"});
  Policy p;
  p.dry_run = safety.dry_run;
  r.read(s, "name", p.name);
  if (p.name.empty()) r.fail(s.table.source(), s, "name", "every policy needs a name");
  std::string action = "log";
  r.read_choice(s, "action", action, {"terminate", "cancel", "log"});
  p.action = action == "terminate" ? PolicyAction::terminate
             : action == "cancel"  ? PolicyAction::cancel
                                   : PolicyAction::log;
  r.read(s, "states", p.states);
  check_states(r, s, p.states);
  check_cancel_states(r, s, p);
  r.read(s, "min_state_age", p.min_state_age, 0s);
  r.read(s, "min_xact_age", p.min_xact_age, 0s);
  r.read(s, "only_if_blocking", p.only_if_blocking);
  r.read(s, "min_blocked", p.min_blocked, 0, 1'000'000);
  r.read(s, "min_blocked_wait", p.min_blocked_wait, 0s);
  r.read(s, "roots_only", p.roots_only);
  for (std::string_view kind : {"applications", "users", "databases", "client_addrs"}) {
    read_filter(r, s, kind,
                kind == "applications" ? p.applications
                : kind == "users"      ? p.users
                : kind == "databases"  ? p.databases
                                       : p.client_addrs);
  }
  r.read(s, "pooler_client_addrs", p.pooler_client_addrs);
  r.read(s, "pooler_applications", p.pooler_applications);
  r.read(s, "dry_run", p.dry_run);
  return p;
}

PoolerConfig read_pooler(const Reader& r, const Section& s) {
  r.check_keys(s, {"name", "kind", "dsn", "dsn_file", "min_interval", "timeout"});
  PoolerConfig p;
  r.read(s, "name", p.name);
  if (p.name.empty()) r.fail(s.table.source(), s, "name", "every pooler needs a name");
  r.read_choice(s, "kind", p.kind, {"pgbouncer"});
  r.read(s, "dsn", p.dsn);
  r.read(s, "dsn_file", p.dsn_file);
  if (p.dsn.empty() == p.dsn_file.empty()) {
    r.fail(s.table.source(), s, "dsn",
           "set dsn (the admin console's, e.g. \"host=10.0.0.5 port=6432 dbname=pgbouncer "
           "user=stats\") or dsn_file, one of them");
  }
  r.read(s, "min_interval", p.min_interval, 100ms);
  r.read(s, "timeout", p.timeout, 100ms);
  return p;
}

void read_poolers(const Reader& r, const toml::table& root, Config& config) {
  const toml::node* node = root.get("pooler");
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array) r.fail(node->source(), Section{root, ""}, "pooler", "use [[pooler]] tables");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = (*array)[i].as_table();
    const std::string name = "[[pooler]] #" + std::to_string(i + 1);
    if (!table) r.fail((*array)[i].source(), Section{root, ""}, name, "expected a table");
    config.poolers.push_back(read_pooler(r, Section{*table, name}));
    for (std::size_t k = 0; k + 1 < config.poolers.size(); ++k) {
      if (config.poolers[k].name == config.poolers.back().name) {
        r.fail(table->get("name")->source(), Section{*table, name}, "name",
               "duplicate pooler name \"" + config.poolers.back().name + "\"");
      }
    }
  }
}

void read_policies(const Reader& r, const toml::table& root, Config& config) {
  const toml::node* node = root.get("policy");
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array) r.fail(node->source(), Section{root, ""}, "policy", "use [[policy]] tables");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = (*array)[i].as_table();
    const std::string name = "[[policy]] #" + std::to_string(i + 1);
    if (!table) r.fail((*array)[i].source(), Section{root, ""}, name, "expected a table");
    config.policies.push_back(read_policy(r, Section{*table, name}, config.safety));
    for (std::size_t k = 0; k + 1 < config.policies.size(); ++k) {
      if (config.policies[k].name == config.policies.back().name) {
        r.fail(table->get("name")->source(), Section{*table, name}, "name",
               "duplicate policy name \"" + config.policies.back().name + "\"");
      }
    }
  }
}

Config read_config(const Reader& r, const toml::table& root) {
  const Section top{root, ""};
  r.check_keys(top, {"database", "watch", "http", "log", "safety", "policy", "pooler"});
  Config config;
  read_database(r, r.section(root, "database"), config.database);
  read_watch(r, r.section(root, "watch"), config.watch);
  read_http(r, r.section(root, "http"), config.http);
  read_log(r, r.section(root, "log"), config.log);
  read_safety(r, r.section(root, "safety"), config.safety);
  read_policies(r, root, config);
  read_poolers(r, root, config);
  return config;
}

}  // namespace

std::string_view to_string(PolicyAction action) {
  switch (action) {
    case PolicyAction::terminate:
      return "terminate";
    case PolicyAction::cancel:
      return "cancel";
    case PolicyAction::log:
      return "log";
  }
  return "log";
}

Expected<Config> parse_config(std::string_view text, std::string_view source) {
  try {
    const toml::table root = toml::parse(text, source);
    return read_config(Reader(source), root);
  } catch (const toml::parse_error& e) {
    return Error{std::string(source) + ":" + std::to_string(e.source().begin.line) + ": " +
                 std::string(e.description())};
  } catch (const ConfigError& e) {
    return Error{e.message};
  }
}

}  // namespace lockwatch
