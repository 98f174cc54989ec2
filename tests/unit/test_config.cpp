#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace lockwatch {
namespace {

using Strings = std::vector<std::string>;

constexpr std::string_view k_source = "cfg.toml";

Config parse_ok(std::string_view text) {
  const auto parsed = parse_config(text, k_source);
  const std::string error = parsed ? std::string() : parsed.error();
  INFO("error: ", error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::string error_of(std::string_view text) {
  const auto parsed = parse_config(text, k_source);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

// The error names the file and line, then mentions `key`.
void check_error_at(std::string_view text, int line, std::string_view key) {
  const std::string error = error_of(text);
  CAPTURE(error);
  CHECK(error.starts_with("cfg.toml:" + std::to_string(line) + ": "));
  CHECK(error.find(key) != std::string::npos);
}

Policy only_policy(std::string_view text) {
  const Config config = parse_ok(text);
  REQUIRE(config.policies.size() == 1);
  return config.policies.front();
}

TEST_SUITE("config") {
  TEST_CASE("an empty file gives the documented defaults") {
    const Config c = parse_ok("");

    CHECK(c.database.dsn.empty());
    CHECK(c.database.dsn_file.empty());
    CHECK(c.watch.interval == 2s);
    CHECK(c.watch.statement_timeout == 2s);
    CHECK(c.watch.lock_timeout == 100ms);
    CHECK(c.watch.connect_timeout == 5s);
    CHECK(c.watch.query_text_max == 1024);
    CHECK(c.watch.top_roots == 5);
    CHECK(c.watch.redact_queries);
    CHECK(c.http.listen == "127.0.0.1:9188");
    CHECK(c.log.level == "info");
    CHECK(c.log.format == LogFormat::text);
    CHECK(c.safety.dry_run);
    CHECK(c.safety.max_actions_per_minute == 6);
    CHECK(c.safety.protected_users == Strings{"postgres"});
    CHECK(c.safety.protected_applications == Strings{"pg_dump", "pg_basebackup", "pg_lockwatch"});
    CHECK_FALSE(c.safety.allow_superusers);
    CHECK(c.policies.empty());
  }

  TEST_CASE("every section and key is read") {
    const Config c = parse_ok(R"toml(
[database]
dsn = "host=db1 dbname=shop"

[watch]
interval = "5s"
statement_timeout = "1500ms"
lock_timeout = "50ms"
connect_timeout = "10s"
query_text_max = 4096
top_roots = 10
redact_queries = false

[http]
listen = "0.0.0.0:9999"

[log]
level = "debug"
format = "json"

[safety]
dry_run = false
max_actions_per_minute = 12
protected_users = ["postgres", "replicator"]
protected_applications = []
allow_superusers = true

[[policy]]
name = "kill-idle-tx"
action = "terminate"
states = ["idle in transaction"]
min_state_age = "5m"
min_xact_age = "10m"
only_if_blocking = false
min_blocked = 3
min_blocked_wait = "30s"
roots_only = false
applications = ["api*"]
exclude_applications = ["api-admin"]
users = ["app"]
exclude_users = ["dba"]
databases = ["shop"]
exclude_databases = ["shop_test"]
client_addrs = ["10.*"]
exclude_client_addrs = ["10.0.0.1"]
dry_run = true

[[policy]]
name = "cancel-long"
action = "cancel"
states = ["active"]
)toml");

    CHECK(c.database.dsn == "host=db1 dbname=shop");
    CHECK(c.watch.interval == 5s);
    CHECK(c.watch.statement_timeout == 1500ms);
    CHECK(c.watch.lock_timeout == 50ms);
    CHECK(c.watch.connect_timeout == 10s);
    CHECK(c.watch.query_text_max == 4096);
    CHECK(c.watch.top_roots == 10);
    CHECK_FALSE(c.watch.redact_queries);
    CHECK(c.http.listen == "0.0.0.0:9999");
    CHECK(c.log.level == "debug");
    CHECK(c.log.format == LogFormat::json);
    CHECK_FALSE(c.safety.dry_run);
    CHECK(c.safety.max_actions_per_minute == 12);
    CHECK(c.safety.protected_users == Strings{"postgres", "replicator"});
    CHECK(c.safety.protected_applications.empty());
    CHECK(c.safety.allow_superusers);

    REQUIRE(c.policies.size() == 2);
    const Policy& p = c.policies[0];
    CHECK(p.name == "kill-idle-tx");
    CHECK(p.action == PolicyAction::terminate);
    CHECK(p.states == Strings{"idle in transaction"});
    CHECK(p.min_state_age == 5min);
    CHECK(p.min_xact_age == 10min);
    CHECK_FALSE(p.only_if_blocking);
    CHECK(p.min_blocked == 3);
    CHECK(p.min_blocked_wait == 30s);
    CHECK_FALSE(p.roots_only);
    CHECK(p.applications.include == Strings{"api*"});
    CHECK(p.applications.exclude == Strings{"api-admin"});
    CHECK(p.users.include == Strings{"app"});
    CHECK(p.users.exclude == Strings{"dba"});
    CHECK(p.databases.include == Strings{"shop"});
    CHECK(p.databases.exclude == Strings{"shop_test"});
    CHECK(p.client_addrs.include == Strings{"10.*"});
    CHECK(p.client_addrs.exclude == Strings{"10.0.0.1"});
    CHECK(p.dry_run);

    const Policy& q = c.policies[1];
    CHECK(q.name == "cancel-long");
    CHECK(q.action == PolicyAction::cancel);
  }

  TEST_CASE("dsn_file is read on its own") {
    const Config c = parse_ok("[database]\ndsn_file = \"${CREDENTIALS_DIRECTORY}/dsn\"\n");
    CHECK(c.database.dsn.empty());
    CHECK(c.database.dsn_file == "${CREDENTIALS_DIRECTORY}/dsn");
  }

  TEST_CASE("a policy with only a name gets the policy defaults") {
    const Policy p = only_policy("[[policy]]\nname = \"watch-only\"\n");
    CHECK(p.action == PolicyAction::log);
    CHECK(p.states == Strings{"idle in transaction", "idle in transaction (aborted)"});
    CHECK(p.min_state_age == 0s);
    CHECK(p.min_xact_age == 0s);
    CHECK(p.only_if_blocking);
    CHECK(p.min_blocked == 1);
    CHECK(p.min_blocked_wait == 0s);
    CHECK(p.roots_only);
    CHECK(p.applications.include == Strings{"*"});
    CHECK(p.applications.exclude.empty());
    CHECK(p.users.include == Strings{"*"});
    CHECK(p.databases.include == Strings{"*"});
    CHECK(p.client_addrs.include == Strings{"*"});
  }

  TEST_CASE("durations are whole numbers with units ms, s, m and h") {
    struct Case {
      const char* text;
      Duration expected;
    };
    const Case cases[] = {
        {"500ms", 500ms}, {"5s", 5s}, {"2m", 2min}, {"1m30s", 90s}, {"1h", 1h},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const Config config = parse_ok("[watch]\ninterval = \"" + std::string(c.text) + "\"\n");
      CHECK(config.watch.interval == c.expected);
    }
  }

  TEST_CASE("errors name the file, line, section and key in full") {
    SUBCASE("an unknown key") {
      CHECK(error_of("[watch]\n\nintervall = \"5s\"\n") ==
            "cfg.toml:3: [watch] intervall: unknown key");
    }
    SUBCASE("a value of the wrong type") {
      CHECK(error_of("[watch]\ninterval = 5\n") ==
            "cfg.toml:2: [watch] interval: expected a duration string such as \"5s\", got an "
            "integer");
    }
    SUBCASE("a duration that does not parse") {
      CHECK(error_of("[watch]\ninterval = \"5x\"\n") ==
            "cfg.toml:2: [watch] interval: invalid duration \"5x\": unknown or missing unit "
            "(use e.g. 500ms, 5s, 2m, 1m30s)");
    }
    SUBCASE("an integer out of range") {
      CHECK(error_of("[watch]\ntop_roots = 101\n") ==
            "cfg.toml:2: [watch] top_roots: must be between 0 and 100");
    }
    SUBCASE("a value that is not one of the choices") {
      CHECK(error_of("[log]\nformat = \"yaml\"\n") ==
            "cfg.toml:2: [log] format: \"yaml\" is not one of: text, json");
    }
    SUBCASE("both dsn and dsn_file") {
      CHECK(error_of("[database]\ndsn = \"host=a\"\ndsn_file = \"/etc/dsn\"\n") ==
            "cfg.toml:3: [database] dsn_file: set either dsn or dsn_file, not both");
    }
    SUBCASE("a policy without a name") {
      CHECK(error_of("[safety]\ndry_run = true\n\n[[policy]]\naction = \"log\"\n") ==
            "cfg.toml:4: [[policy]] #1 name: every policy needs a name");
    }
    SUBCASE("two policies with the same name") {
      CHECK(error_of("[[policy]]\nname = \"a\"\n[[policy]]\nname = \"a\"\n") ==
            "cfg.toml:4: [[policy]] #2 name: duplicate policy name \"a\"");
    }
    SUBCASE("a state pg_stat_activity never reports") {
      CHECK(error_of("[[policy]]\nname = \"a\"\nstates = [\"idle\", \"idle_in_transaction\"]\n") ==
            "cfg.toml:3: [[policy]] #1 states: \"idle_in_transaction\" is not a "
            "pg_stat_activity state");
    }
  }

  TEST_CASE("cancel only for states that run a statement: idle sessions have none to stop") {
    SUBCASE("the default states (idle in transaction) are refused, at the action") {
      CHECK(error_of("[[policy]]\nname = \"a\"\naction = \"cancel\"\n") ==
            "cfg.toml:3: [[policy]] #1 action: \"cancel\" stops a running statement and the "
            "default states (idle in transaction) run none: set states = [\"active\"], or "
            "use action = \"terminate\"");
    }
    SUBCASE("an idle state named in states is refused, at states") {
      CHECK(error_of("[[policy]]\nname = \"a\"\naction = \"cancel\"\n"
                     "states = [\"active\", \"idle in transaction\"]\n") ==
            "cfg.toml:4: [[policy]] #1 states: \"idle in transaction\" runs no statement for "
            "action = \"cancel\" to stop: keep \"active\" (and \"fastpath function call\") "
            "only, or use action = \"terminate\"");
      check_error_at("[[policy]]\nname = \"a\"\nstates = [\"idle\"]\naction = \"cancel\"\n", 3,
                     "states");
    }
    SUBCASE("active and fastpath function call are accepted; terminate and log take any state") {
      const Policy p = only_policy(
          "[[policy]]\nname = \"a\"\naction = \"cancel\"\n"
          "states = [\"active\", \"fastpath function call\"]\n");
      CHECK(p.action == PolicyAction::cancel);
      for (const char* action : {"terminate", "log"}) {
        CAPTURE(action);
        CHECK(only_policy("[[policy]]\nname = \"a\"\naction = \"" + std::string(action) +
                          "\"\nstates = [\"idle\", \"idle in transaction\"]\n")
                  .action != PolicyAction::cancel);
      }
    }
  }

  TEST_CASE("every other error starts with the file and line and names the key") {
    struct Case {
      const char* what;
      const char* text;
      int line;
      const char* key;
    };
    const Case cases[] = {
        {"unknown top-level key", "\n\nverbose = true\n", 3, "verbose"},
        {"unknown key in a policy", "[[policy]]\nname = \"a\"\naction_ = \"log\"\n", 3, "action_"},
        {"string for a boolean", "[watch]\nredact_queries = \"yes\"\n", 2, "redact_queries"},
        {"integer for a string", "[http]\nlisten = 9188\n", 2, "listen"},
        {"float for an integer", "[watch]\ntop_roots = 2.5\n", 2, "top_roots"},
        {"string for an array", "[safety]\nprotected_users = \"postgres\"\n", 2, "protected_users"},
        {"non-string in an array", "[safety]\nprotected_users = [\"postgres\", 7]\n", 2,
         "protected_users"},
        {"duration below its minimum", "[watch]\ninterval = \"50ms\"\n", 2, "interval"},
        {"connect timeout below 2s", "[watch]\n\nconnect_timeout = \"1s\"\n", 3, "connect_timeout"},
        {"duration without unit", "[watch]\nlock_timeout = \"100\"\n", 2, "lock_timeout"},
        {"empty duration", "[[policy]]\nname = \"a\"\nmin_state_age = \"\"\n", 3, "min_state_age"},
        {"negative integer", "[safety]\nmax_actions_per_minute = -1\n", 2,
         "max_actions_per_minute"},
        {"integer too large for an int", "[watch]\ntop_roots = 5000000000\n", 2, "top_roots"},
        {"query_text_max below 16", "[watch]\nquery_text_max = 8\n", 2, "query_text_max"},
        {"unknown log level", "[log]\nlevel = \"verbose\"\n", 2, "level"},
        {"unknown policy action", "[[policy]]\nname = \"a\"\naction = \"kill\"\n", 3, "action"},
        {"empty policy name", "[[policy]]\nname = \"\"\n", 1, "name"},
        {"duplicate name in the third policy",
         "[[policy]]\nname = \"a\"\n[[policy]]\nname = \"b\"\n[[policy]]\nname = \"a\"\n", 6,
         "duplicate policy name \"a\""},
        {"misspelt state", "[[policy]]\nname = \"a\"\nstates = [\"Idle\"]\n", 3, "\"Idle\""},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      check_error_at(c.text, c.line, c.key);
    }
  }

  TEST_CASE("a TOML syntax error names the file and the line") {
    struct Case {
      const char* what;
      const char* text;
      int line;
    };
    const Case cases[] = {
        {"missing value", "[watch]\ninterval =\n", 2},
        {"unclosed table header", "\n\n[watch\n", 3},
        {"key defined twice", "[watch]\ntop_roots = 1\ntop_roots = 2\n", 3},
        {"unterminated string", "[http]\n\n\nlisten = \"0.0.0.0\n", 4},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      const std::string error = error_of(c.text);
      CAPTURE(error);
      CHECK(error.starts_with("cfg.toml:" + std::to_string(c.line) + ": "));
      CHECK(error.size() > std::string_view("cfg.toml:1: ").size());
    }
  }

  TEST_CASE("the source name given is the one errors use") {
    const auto parsed = parse_config("[watch]\nbogus = 1\n", "/etc/pg_lockwatch/lockwatch.toml");
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == "/etc/pg_lockwatch/lockwatch.toml:2: [watch] bogus: unknown key");
  }

  TEST_CASE("a policy's dry_run follows [safety] dry_run unless the policy sets its own") {
    struct Case {
      const char* what;
      const char* text;
      bool expected;
    };
    const Case cases[] = {
        {"dry run by default", "[[policy]]\nname = \"p\"\n", true},
        {"safety off", "[safety]\ndry_run = false\n[[policy]]\nname = \"p\"\n", false},
        {"safety on", "[safety]\ndry_run = true\n[[policy]]\nname = \"p\"\n", true},
        {"safety off, written after the policy",
         "[[policy]]\nname = \"p\"\n[safety]\ndry_run = false\n", false},
        {"policy off wins over safety on",
         "[safety]\ndry_run = true\n[[policy]]\nname = \"p\"\ndry_run = false\n", false},
        {"policy on wins over safety off",
         "[safety]\ndry_run = false\n[[policy]]\nname = \"p\"\ndry_run = true\n", true},
        {"policy off wins over the default", "[[policy]]\nname = \"p\"\ndry_run = false\n", false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      CHECK(only_policy(c.text).dry_run == c.expected);
    }
  }

  TEST_CASE("each policy inherits [safety] dry_run separately") {
    const Config c = parse_ok(
        "[safety]\ndry_run = false\n"
        "[[policy]]\nname = \"a\"\ndry_run = true\n"
        "[[policy]]\nname = \"b\"\n");
    REQUIRE(c.policies.size() == 2);
    CHECK(c.policies[0].dry_run);
    CHECK_FALSE(c.policies[1].dry_run);
  }

  TEST_CASE("to_string names each policy action") {
    CHECK(to_string(PolicyAction::terminate) == "terminate");
    CHECK(to_string(PolicyAction::cancel) == "cancel");
    CHECK(to_string(PolicyAction::log) == "log");
  }
}

}  // namespace
}  // namespace lockwatch
