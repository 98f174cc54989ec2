#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/command_requests.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

template <typename Request>
Request valid(Expected<Request> (*validate)(const Arguments&), const CommandSpec& spec,
              const Strings& args) {
  const auto parsed = parse_arguments(args, spec.options);
  REQUIRE(parsed.has_value());
  auto request = validate(*parsed);
  const std::string error = request ? std::string() : request.error();
  INFO("error: ", error);
  REQUIRE(request.has_value());
  return *request;
}

template <typename Request>
std::string invalid(Expected<Request> (*validate)(const Arguments&), const CommandSpec& spec,
                    const Strings& args) {
  const auto parsed = parse_arguments(args, spec.options);
  if (!parsed) return parsed.error();
  const auto request = validate(*parsed);
  REQUIRE_FALSE(request.has_value());
  return request.error();
}

struct Case {
  Strings args;
  std::string error;
};

TEST_SUITE("command requests") {
  TEST_CASE("check takes the connection options and --json") {
    const CheckRequest r =
        valid(check_request, check_spec(), {"--json", "--dsn", "host=db", "--config", "a.toml"});
    CHECK(r.json);
    CHECK(r.connection.dsn == "host=db");
    CHECK(r.connection.config_path == "a.toml");
    CHECK_FALSE(r.connection.allow_pooler);
    CHECK(invalid(check_request, check_spec(), {"now"}) == "unexpected argument \"now\"");
    CHECK(invalid(check_request, check_spec(), {"--allow-pooler"}) ==
          "unknown option --allow-pooler");
  }

  TEST_CASE("terminate by pid") {
    const TerminateRequest r =
        valid(terminate_request, terminate_spec(), {"--pid", "65365", "--yes", "--dry-run"});
    CHECK(r.pid == 65365);
    CHECK_FALSE(r.idle_in_transaction);
    CHECK(r.yes);
    CHECK(r.dry_run);
  }

  TEST_CASE("terminate idle-in-transaction sessions, narrowed by the filters") {
    const TerminateRequest r =
        valid(terminate_request, terminate_spec(),
              {"--idle-in-transaction", "--older-than", "5m", "--only-blocking", "--user", "api*",
               "--application", "web", "--allow-pooler", "--json"});
    CHECK_FALSE(r.pid.has_value());
    CHECK(r.idle_in_transaction);
    CHECK(r.older_than == 5min);
    CHECK(r.only_blocking);
    CHECK(r.user == "api*");
    CHECK(r.application == "web");
    CHECK(r.connection.allow_pooler);
    CHECK(r.json);
    CHECK(valid(terminate_request, terminate_spec(), {"--idle-in-transaction"}).older_than == 0s);
  }

  TEST_CASE("terminate refuses ambiguous or malformed selections") {
    const Case cases[] = {
        {{}, "give either --pid PID or --idle-in-transaction"},
        {{"--pid", "1", "--idle-in-transaction"}, "give either --pid PID or --idle-in-transaction"},
        {{"--pid", "abc"}, "--pid: expected a whole number from 1 to 2147483647, got \"abc\""},
        {{"--pid", "0"}, "--pid: expected a whole number from 1 to 2147483647, got \"0\""},
        {{"--pid", "-5"}, "--pid: expected a whole number from 1 to 2147483647, got \"-5\""},
        {{"--pid", "12x"}, "--pid: expected a whole number from 1 to 2147483647, got \"12x\""},
        {{"--pid", "99999999999"},
         "--pid: expected a whole number from 1 to 2147483647, got \"99999999999\""},
        {{"--pid", "7", "--only-blocking"},
         "--only-blocking selects idle-in-transaction sessions; it cannot be combined with --pid"},
        {{"--pid", "7", "--user", "u"},
         "--user selects idle-in-transaction sessions; it cannot be combined with --pid"},
        {{"--idle-in-transaction", "--older-than", "5"},
         "--older-than: invalid duration \"5\": unknown or missing unit"},
        {{"--idle-in-transaction", "--older-than"}, "--older-than needs a value"},
        {{"--idle-in-transaction", "--force"}, "unknown option --force"},
        {{"--pid", "7", "--pid", "8"}, "--pid given twice"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.error);
      CHECK(invalid(terminate_request, terminate_spec(), c.args).starts_with(c.error));
    }
  }

  TEST_CASE("preflight: tables, lock mode and age limit, with defaults") {
    const PreflightRequest defaults = valid(preflight_request, preflight_spec(), {"--table", "t"});
    CHECK(defaults.tables == Strings{"t"});
    CHECK(defaults.lock_mode == LockMode::access_exclusive);
    CHECK(defaults.max_xact_age == 30s);
    const PreflightRequest r = valid(preflight_request, preflight_spec(),
                                     {"--table", "public.accounts", "--table=orders", "--lock-mode",
                                      "SHARE UPDATE EXCLUSIVE", "--max-xact-age", "0s", "--json"});
    CHECK(r.tables == Strings{"public.accounts", "orders"});
    CHECK(r.lock_mode == LockMode::share_update_exclusive);
    CHECK(r.max_xact_age == 0s);
    CHECK(r.json);
  }

  TEST_CASE("preflight: statements from --sql or --file, and --trace with its lock_timeout") {
    const PreflightRequest sql =
        valid(preflight_request, preflight_spec(), {"--sql", "DROP TABLE t"});
    CHECK(sql.tables.empty());
    CHECK(sql.sql == "DROP TABLE t");
    CHECK(sql.trace_database.empty());
    CHECK(sql.trace_lock_timeout == 1s);
    const PreflightRequest traced =
        valid(preflight_request, preflight_spec(),
              {"--file", "-", "--trace", "scratch", "--trace-lock-timeout", "250ms"});
    CHECK(traced.file == "-");
    CHECK(traced.trace_database == "scratch");
    CHECK(traced.trace_lock_timeout == 250ms);
  }

  TEST_CASE("preflight refuses what it cannot check") {
    const Case cases[] = {
        {{}, "give --table NAME, --sql \"...\" or --file F"},
        {{"--table", "t", "--sql", "SELECT 1"}, "give only one of --table, --sql and --file"},
        {{"--sql", "SELECT 1", "--lock-mode", "SHARE"}, "--lock-mode goes with --table"},
        {{"--table", "t", "--trace", "scratch"}, "--trace runs statements"},
        {{"--sql", " ; "}, "--sql: no SQL given"},
        {{"--file", "m.sql", "--trace", ""}, "--trace: empty database name"},
        {{"--sql", "SELECT 1", "--trace-lock-timeout", "0s"}, "--trace-lock-timeout must be more"},
        {{"--table", ""}, "--table: empty table name"},
        {{"--table", "t", "--lock-mode", "ROW"}, "--lock-mode: unknown lock mode \"ROW\""},
        {{"--table", "t", "--max-xact-age", "soon"}, "--max-xact-age: invalid duration"},
        {{"--table", "t", "--allow-pooler"}, "unknown option --allow-pooler"},
        {{"t"}, "unexpected argument \"t\""},
    };
    for (const Case& c : cases) {
      CAPTURE(c.error);
      CHECK(invalid(preflight_request, preflight_spec(), c.args).starts_with(c.error));
    }
  }

  TEST_CASE("ddl: one source of SQL, and the retry settings, with defaults") {
    const DdlRequest defaults = valid(ddl_request, ddl_spec(), {"--sql", "ALTER TABLE t ..."});
    CHECK(defaults.sql == "ALTER TABLE t ...");
    CHECK(defaults.lock_timeout == 2s);
    CHECK(defaults.retries == 10);
    CHECK(defaults.retry_delay.min == 5s);
    CHECK(defaults.retry_delay.max == 60s);
    CHECK(defaults.statement_timeout == 0s);
    const DdlRequest r = valid(ddl_request, ddl_spec(),
                               {"--file", "m.sql", "--lock-timeout", "500ms", "--retries", "0",
                                "--retry-delay", "1s..2s", "--statement-timeout", "10m"});
    CHECK(r.file == "m.sql");
    CHECK(r.lock_timeout == 500ms);
    CHECK(r.retries == 0);
    CHECK(r.retry_delay.min == 1s);
    CHECK(r.retry_delay.max == 2s);
    CHECK(r.statement_timeout == 10min);
  }

  TEST_CASE("ddl refuses to run without a lock timeout, or with nonsense") {
    const Case cases[] = {
        {{}, "give either --file F or --sql \"...\""},
        {{"--file", "a", "--sql", "b"}, "give either --file F or --sql \"...\""},
        {{"--sql", " ;\n"}, "--sql: no SQL given"},
        {{"--file", ""}, "--file: empty file name"},
        {{"--sql", "x", "--lock-timeout", "0s"},
         "--lock-timeout must be more than 0: every attempt runs under a lock timeout"},
        {{"--sql", "x", "--lock-timeout", "2"}, "--lock-timeout: invalid duration"},
        {{"--sql", "x", "--retries", "-1"},
         "--retries: expected a whole number from 0 to 1000, got \"-1\""},
        {{"--sql", "x", "--retries", "1001"},
         "--retries: expected a whole number from 0 to 1000, got \"1001\""},
        {{"--sql", "x", "--retries", "many"},
         "--retries: expected a whole number from 0 to 1000, got \"many\""},
        {{"--sql", "x", "--retry-delay", "60s..5s"}, "--retry-delay: the lower bound"},
        {{"--sql", "x", "--statement-timeout", "1x"}, "--statement-timeout: invalid duration"},
        {{"--sql", "x", "--json"}, "unknown option --json"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.error);
      CHECK(invalid(ddl_request, ddl_spec(), c.args).starts_with(c.error));
    }
  }

  TEST_CASE("each command's help has its synopsis, every option and the exit codes") {
    for (const CommandSpec* spec :
         {&check_spec(), &terminate_spec(), &preflight_spec(), &ddl_spec()}) {
      const std::string help = command_help(*spec);
      CAPTURE(spec->usage);
      CHECK(help.starts_with("usage: pg_lockwatch "));
      for (const OptionSpec& option : spec->options) {
        CHECK(help.find("--" + option.name) != std::string::npos);
      }
      CHECK(help.find("Exit ") != std::string::npos);
      CHECK(help.find("PGHOST") != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace lockwatch
