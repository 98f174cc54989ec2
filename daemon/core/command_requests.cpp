#include "core/command_requests.hpp"

#include <charconv>

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

// The options several commands share (functions: a static std::string may throw).
OptionSpec config_option() {
  return {"config", true, false, "TOML config file ([database], [watch], [safety])"};
}
OptionSpec dsn_option() {
  return {"dsn", true, false, "libpq conninfo or URI; overrides [database]"};
}
OptionSpec json_option() {
  return {"json", false, false, "print JSON instead of text"};
}
OptionSpec allow_pooler_option() {
  return {"allow-pooler", false, false, "run even when a pooler or proxy is in the way"};
}
OptionSpec help_option() {
  return {"help", false, false, "this text"};
}

const char* const k_connection_help = R"(
Connects like the daemon: --dsn, else [database] of --config, else libpq's environment
(PGHOST, PGPORT, PGUSER, PGDATABASE, ...). Use the server's own address, not a pooler's:
a pooler hides who holds a lock (the command warns when it detects one).
Exit codes: 0 fine, 1 the condition looked for is present, 2 usage, config or connection
error (one line on stderr).
)";

Expected<int> parse_int(const std::string& text, const std::string& option, int min, int max) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Error{"--" + option + ": expected a whole number from " + std::to_string(min) + " to " +
                 std::to_string(max) + ", got \"" + text + "\""};
  }
  return value;
}

Expected<Duration> duration_option(const Arguments& args, const std::string& option,
                                   Duration fallback) {
  if (!args.has(option)) return fallback;
  const auto parsed = parse_duration(args.get(option));
  if (!parsed) return Error{"--" + option + ": " + parsed.error()};
  return *parsed;
}

std::optional<Error> no_positionals(const Arguments& args) {
  if (args.positional.empty()) return std::nullopt;
  return Error{"unexpected argument \"" + args.positional.front() + "\""};
}

ConnectionRequest connection_of(const Arguments& args) {
  return ConnectionRequest{args.get("config"), args.get("dsn"), args.has("allow-pooler")};
}

// --older-than, --only-blocking, --user and --application narrow --idle-in-transaction.
std::optional<Error> check_terminate_mode(const Arguments& args) {
  if (args.has("pid") == args.has("idle-in-transaction")) {
    return Error{"give either --pid PID or --idle-in-transaction"};
  }
  for (const char* filter : {"older-than", "only-blocking", "user", "application"}) {
    if (args.has("pid") && args.has(filter)) {
      return Error{"--" + std::string(filter) +
                   " selects idle-in-transaction sessions; it "
                   "cannot be combined with --pid"};
    }
  }
  return std::nullopt;
}

// Stores a parsed option, or hands back why it could not be parsed.
template <typename T>
std::optional<Error> assign(Expected<T> parsed, T& out) {
  if (!parsed) return Error{parsed.error()};
  out = std::move(*parsed);
  return std::nullopt;
}

Expected<int> int_option(const Arguments& args, const std::string& option, int fallback, int min,
                         int max) {
  return args.has(option) ? parse_int(args.get(option), option, min, max) : fallback;
}

Expected<LockMode> lock_mode_option(const Arguments& args, LockMode fallback) {
  if (!args.has("lock-mode")) return fallback;
  const auto mode = parse_lock_mode(args.get("lock-mode"));
  if (!mode) return Error{"--lock-mode: " + mode.error()};
  return *mode;
}

Expected<RetryDelay> retry_delay_option(const Arguments& args, RetryDelay fallback) {
  return args.has("retry-delay") ? parse_retry_delay(args.get("retry-delay")) : fallback;
}

std::optional<Error> check_preflight_source(const Arguments& args) {
  const int sources =
      (args.has("table") ? 1 : 0) + (args.has("sql") ? 1 : 0) + (args.has("file") ? 1 : 0);
  if (sources == 0) return Error{"give --table NAME, --sql \"...\" or --file F"};
  if (sources > 1) return Error{"give only one of --table, --sql and --file"};
  for (const std::string& table : args.all("table")) {
    if (table.empty()) return Error{"--table: empty table name"};
  }
  if (args.has("table") && args.has("trace")) {
    return Error{"--trace runs statements: give them with --sql or --file"};
  }
  if (!args.has("table") && args.has("lock-mode")) {
    return Error{
        "--lock-mode goes with --table: each statement of --sql and --file is checked "
        "for the locks it takes"};
  }
  if (args.has("trace") && args.get("trace").empty()) return Error{"--trace: empty database name"};
  if (args.has("file") && args.get("file").empty()) return Error{"--file: empty file name"};
  if (args.has("sql") && args.get("sql").find_first_not_of(" \t\r\n;") == std::string::npos) {
    return Error{"--sql: no SQL given"};
  }
  return std::nullopt;
}

std::optional<Error> check_ddl_source(const Arguments& args) {
  if (args.has("file") == args.has("sql")) return Error{"give either --file F or --sql \"...\""};
  if (args.has("file") && args.get("file").empty()) return Error{"--file: empty file name"};
  if (args.has("sql") && args.get("sql").find_first_not_of(" \t\r\n;") == std::string::npos) {
    return Error{"--sql: no SQL given"};
  }
  return std::nullopt;
}

// Without a lock timeout a waiting DDL would hold up everyone queued behind it.
std::optional<Error> read_ddl_timing(const Arguments& args, DdlRequest& r) {
  if (auto error = assign(duration_option(args, "lock-timeout", r.lock_timeout), r.lock_timeout)) {
    return error;
  }
  if (r.lock_timeout.count() == 0) {
    return Error{"--lock-timeout must be more than 0: every attempt runs under a lock timeout"};
  }
  return assign(duration_option(args, "statement-timeout", r.statement_timeout),
                r.statement_timeout);
}

}  // namespace

const CommandSpec& check_spec() {
  static const CommandSpec k_spec{
      "pg_lockwatch check [--json] [--max-waiters 20] [--max-roots 20] [--dsn DSN]\n"
      "                          [--pooler CONSOLE_DSN]... [--config FILE]",
      R"(Audits the connections (client backends by state, database, user and application;
the oldest transactions and idle-in-transaction sessions) and draws every blocking chain
as a tree, root first: a waiter sits under the session it queues behind, with the lock it
waits for and why ("held as AccessShareLock by 65365", "queued behind 79250's
AccessExclusiveLock"); one that waits on several appears under each, marked "also blocked
by". In a pile-up each root shows its --max-waiters nearest waiters and sums up the rest
by what they wait for.
Behind pgbouncer, --pooler (and the config's [[pooler]] tables) names the real client of
every session that is one of its server connections ("via pgbouncer 10.0.0.7:53122"), and
flags a lock holder it serves no client as a ghost lock; the console is read before the
server, and a console that does not answer costs a warning, not the check.
With --json: {"audit": {...}, "chains": <the daemon's /chains document>}.
Exit 1 when any backend waits on a lock another session holds or queues for.
)",
      {json_option(),
       {"max-waiters", true, false,
        "waiters drawn (listed) per root, the rest counted (default 20; 0: all)"},
       {"max-roots", true, false, "roots drawn (listed) in full (default 20; 0: all)"},
       {"pooler", true, true,
        "pgbouncer admin console DSN (dbname=pgbouncer), repeatable: name pooled clients"},
       dsn_option(),
       config_option(),
       help_option()}};
  return k_spec;
}

const CommandSpec& terminate_spec() {
  static const CommandSpec k_spec{
      "pg_lockwatch terminate (--pid PID | --idle-in-transaction [--older-than 5m]\n"
      "                               [--only-blocking] [--user U] [--application A])\n"
      "                              [--dry-run] [--yes] [--json] [--dsn DSN] [--config FILE]",
      R"(Ends sessions with pg_terminate_backend, exactly as the daemon's policies do: the
[safety] protections of the config apply (protected users and applications, superusers
unless allowed, non-client backends), and each signal re-checks, in the same statement,
that the pid is still the session that was selected (same start, state and state change).
Lists every session with its outcome: terminated, dry_run, protected (with the reason),
vanished (it ended or moved on first), denied or failed.
Asks for confirmation on a terminal unless --yes; without a terminal it needs --yes.
Refuses to run through a pooler or proxy unless --allow-pooler.
Exit 0 when every selected session that is not protected was terminated (or would be,
with --dry-run), or nothing matched; 1 when one was denied or failed, and for --pid also
when it is protected, vanished or does not exist; 1 too when confirmation is declined.
)",
      {{"pid", true, false, "the backend pid to terminate"},
       {"idle-in-transaction", false, false,
        "select sessions idle in transaction (aborted or not)"},
       {"older-than", true, false, "only those idle in transaction this long (e.g. 5m)"},
       {"only-blocking", false, false, "only those that hold up another session"},
       {"user", true, false, "only this user (glob: * and ?)"},
       {"application", true, false, "only this application_name (glob: * and ?)"},
       {"dry-run", false, false, "show what would be terminated; signal nothing"},
       {"yes", false, false, "do not ask for confirmation"},
       json_option(),
       allow_pooler_option(),
       dsn_option(),
       config_option(),
       help_option()}};
  return k_spec;
}

const CommandSpec& preflight_spec() {
  static const CommandSpec k_spec{
      "pg_lockwatch preflight (--table NAME [--table NAME ...] [--lock-mode MODE]\n"
      "                              | --sql \"...\" | --file F [--trace DATABASE])\n"
      "                              [--max-xact-age 30s] [--json] [--dsn DSN] [--config FILE]",
      R"(Answers "could this migration take its locks right now without queueing?".
With --table: the footprint of a DDL taking MODE on the tables, whatever the DDL: each
table, its partitions and inheritance children (recursively), their indexes and TOAST
tables, all at MODE. MODE is any table lock mode: "ACCESS EXCLUSIVE" (the default, ALTER
TABLE's), "SHARE UPDATE EXCLUSIVE", ShareLock, row_exclusive, ...
With --sql or --file (- for stdin): pg_lockwatch parses the statements with PostgreSQL's
own parser (libpg_query, PostgreSQL 15) and says for each which relations it locks in which mode
(foreign keys lock both tables; DROP, TRUNCATE, rewrites, REINDEX, VACUUM FULL, CLUSTER,
REFRESH, RENAME ...), whether it rewrites or scans a table under its lock, the safer
form and the lock that takes (NOT VALID then VALIDATE, CONCURRENTLY, SET NOT NULL through
a validated CHECK), a missing lock_timeout, and locks held across a transaction. A
statement it cannot classify is reported as such, assumed ACCESS EXCLUSIVE on what it
names, and is never clear. Nothing is run unless --trace.
Either way every session holding a conflicting lock on any relation of the footprint is
listed with the relation and mode it holds, and so is every conflicting request already
queued there (a new request queues behind those), and every transaction in this database
older than --max-xact-age (0s: do not list them).
--trace DATABASE runs the statements for real in the database the command connects to,
which must be DATABASE (say it to show you know it is disposable): in one transaction,
each in a savepoint, under --trace-lock-timeout and a 60s statement_timeout, then rolled
back. The locks each took, read from pg_locks, are printed beside the prediction, and a
lock the prediction missed makes the result not clear (and is checked for conflicts too).
Not run: BEGIN/COMMIT, lock_timeout settings, what cannot run in a transaction block
(CONCURRENTLY, VACUUM), COPY FROM, DO, CALL and calls of unknown functions.
Exit 0 clear, 1 not clear (a conflict, an old transaction, an unclassified statement or a
missed lock), 2 a syntax error, a missing table (--table) or another usage error.
)",
      {{"table", true, true, "a table, schema-qualified or on the search_path (repeatable)"},
       {"lock-mode", true, false,
        "with --table: the lock the DDL needs (default ACCESS EXCLUSIVE)"},
       {"sql", true, false, "the statements of the migration"},
       {"file", true, false, "read the statements from this file (- for stdin)"},
       {"trace", true, false, "run them, rolled back, in this (disposable) database and compare"},
       {"trace-lock-timeout", true, false, "lock_timeout of the traced statements (default 1s)"},
       {"max-xact-age", true, false, "list transactions older than this (default 30s)"},
       json_option(),
       dsn_option(),
       config_option(),
       help_option()}};
  return k_spec;
}

const CommandSpec& ddl_spec() {
  static const CommandSpec k_spec{
      "pg_lockwatch ddl (--file F | --sql \"...\") [--lock-timeout 2s] [--retries 10]\n"
      "                        [--retry-delay 5s..60s] [--max-wait 0s] [--statement-timeout 0s]\n"
      "                        [--drop-invalid] [--allow-pooler] [--dsn DSN] [--config FILE]",
      R"(Runs DDL on a direct connection so that it never queues for long: every attempt
runs under lock_timeout (SET again before each), and an attempt that hits it is rolled
back and retried after a pause that backs off, jittered, between the --retry-delay bounds.
While an attempt waits, the chain of sessions in front of it is printed every second
(read from a second session). Lock timeouts and deadlocks (PostgreSQL ended this DDL to
break one) are retried; any other error (a syntax error, say) stops at once. --max-wait
bounds the whole run: pauses and each attempt's lock_timeout are cut to fit, and no
attempt starts once it is spent (an attempt that has its locks runs on, under
--statement-timeout). The SQL runs as one implicit transaction unless it has its own
BEGIN/COMMIT; after a failure pg_lockwatch rolls such a transaction back, and SQL that
leaves one open is an error (nothing is committed for it). A summary ends the output.
A CREATE INDEX CONCURRENTLY that fails leaves an INVALID index behind, which a retry does
not remove (and IF NOT EXISTS would then accept): pg_lockwatch reports it and stops, or,
with --drop-invalid, drops it (DROP INDEX CONCURRENTLY) and retries; one that an earlier
run left is refused before the first attempt, or dropped with --drop-invalid.
Ctrl-C (or SIGTERM) cancels the running statement on the server, so that nothing stays
queued there, and stops; a second Ctrl-C exits at once.
Refuses to run through a pooler or proxy unless --allow-pooler.
Exit 0 done, 1 gave up (every attempt timed out or deadlocked, the budget is spent, an
INVALID index is in the way, or interrupted), 2 any other error.
)",
      {{"file", true, false, "read the SQL from this file (- for stdin)"},
       {"sql", true, false, "the SQL to run"},
       {"lock-timeout", true, false, "lock_timeout of each attempt (default 2s; not 0)"},
       {"retries", true, false, "retries after the first attempt (default 10)"},
       {"retry-delay", true, false, "pause between attempts, MIN..MAX or fixed (default 5s..60s)"},
       {"statement-timeout", true, false, "statement_timeout of each attempt (default 0s: none)"},
       {"max-wait", true, false, "give up once this much time has passed (default 0s: no limit)"},
       {"drop-invalid", false, false, "drop an INVALID index a failed CONCURRENTLY build left"},
       allow_pooler_option(),
       dsn_option(),
       config_option(),
       help_option()}};
  return k_spec;
}

std::string command_help(const CommandSpec& spec) {
  return "usage: " + spec.usage + "\n\n" + spec.description + "\noptions:\n" +
         describe_options(spec.options) + k_connection_help;
}

Expected<CheckRequest> check_request(const Arguments& args) {
  if (auto error = no_positionals(args)) return *error;
  CheckRequest r;
  r.connection = connection_of(args);
  r.json = args.has("json");
  if (auto error = assign(int_option(args, "max-waiters", 20, 0, 1'000'000), r.max_waiters)) {
    return *error;
  }
  if (auto error = assign(int_option(args, "max-roots", 20, 0, 1'000'000), r.max_roots)) {
    return *error;
  }
  r.poolers = args.all("pooler");
  return r;
}

Expected<TerminateRequest> terminate_request(const Arguments& args) {
  if (auto error = no_positionals(args)) return *error;
  if (auto error = check_terminate_mode(args)) return *error;
  TerminateRequest r;
  r.connection = connection_of(args);
  if (args.has("pid")) {
    int pid = 0;
    if (auto error = assign(int_option(args, "pid", 0, 1, 2'147'483'647), pid)) return *error;
    r.pid = pid;
  }
  if (auto error = assign(duration_option(args, "older-than", 0s), r.older_than)) return *error;
  r.idle_in_transaction = args.has("idle-in-transaction");
  r.only_blocking = args.has("only-blocking");
  r.user = args.get("user");
  r.application = args.get("application");
  r.dry_run = args.has("dry-run");
  r.yes = args.has("yes");
  r.json = args.has("json");
  return r;
}

Expected<PreflightRequest> preflight_request(const Arguments& args) {
  if (auto error = no_positionals(args)) return *error;
  if (auto error = check_preflight_source(args)) return *error;
  PreflightRequest r;
  r.connection = connection_of(args);
  r.tables = args.all("table");
  r.sql = args.get("sql");
  r.file = args.get("file");
  r.trace_database = args.get("trace");
  if (auto error = assign(lock_mode_option(args, r.lock_mode), r.lock_mode)) return *error;
  const auto max_age = duration_option(args, "max-xact-age", r.max_xact_age);
  if (auto error = assign(max_age, r.max_xact_age)) return *error;
  const auto trace_timeout = duration_option(args, "trace-lock-timeout", r.trace_lock_timeout);
  if (auto error = assign(trace_timeout, r.trace_lock_timeout)) return *error;
  if (r.trace_lock_timeout.count() == 0) {
    return Error{"--trace-lock-timeout must be more than 0: the trace must never queue for long"};
  }
  r.json = args.has("json");
  return r;
}

Expected<DdlRequest> ddl_request(const Arguments& args) {
  if (auto error = no_positionals(args)) return *error;
  if (auto error = check_ddl_source(args)) return *error;
  DdlRequest r;
  r.connection = connection_of(args);
  r.file = args.get("file");
  r.sql = args.get("sql");
  if (auto error = read_ddl_timing(args, r)) return *error;
  if (auto error = assign(int_option(args, "retries", r.retries, 0, 1000), r.retries)) {
    return *error;
  }
  if (auto error = assign(retry_delay_option(args, r.retry_delay), r.retry_delay)) return *error;
  if (auto error = assign(duration_option(args, "max-wait", r.max_wait), r.max_wait)) return *error;
  r.drop_invalid = args.has("drop-invalid");
  return r;
}

}  // namespace lockwatch
