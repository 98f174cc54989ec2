#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/arguments.hpp"
#include "core/ddl_retry.hpp"
#include "core/duration.hpp"
#include "core/lock_modes.hpp"

namespace lockwatch {

// An operator command: its options (what parse_arguments reads) and its --help text.
struct CommandSpec {
  std::string usage;        // the synopsis line
  std::string description;  // what it does and its exit codes
  std::vector<OptionSpec> options;
};

const CommandSpec& check_spec();
const CommandSpec& terminate_spec();
const CommandSpec& preflight_spec();
const CommandSpec& ddl_spec();

// The --help text: synopsis, description, options, and how the connection is chosen.
std::string command_help(const CommandSpec& spec);

// How an operator command connects: like the daemon, from --dsn, the config file's
// [database], or libpq's environment variables.
struct ConnectionRequest {
  std::string config_path;
  std::string dsn;
  bool allow_pooler = false;
};

struct CheckRequest {
  ConnectionRequest connection;
  bool json = false;
  int max_waiters = 20;              // per root, drawn or listed; 0: all
  int max_roots = 20;                // 0: all
  std::vector<std::string> poolers;  // --pooler: admin-console DSNs, besides [[pooler]]
};

// Either one pid, or the idle-in-transaction sessions the filters select.
struct TerminateRequest {
  ConnectionRequest connection;
  std::optional<int> pid;
  bool idle_in_transaction = false;
  Duration older_than{0};  // time spent idle in transaction
  bool only_blocking = false;
  std::string user;         // glob; empty: any
  std::string application;  // glob; empty: any
  bool dry_run = false;
  bool yes = false;
  bool json = false;
};

// Either tables (and the mode a DDL on them needs), or statements (--sql, or --file; "-"
// for stdin) whose locks are predicted from PostgreSQL's parse tree.
struct PreflightRequest {
  ConnectionRequest connection;
  std::vector<std::string> tables;
  LockMode lock_mode = LockMode::access_exclusive;
  std::string sql;
  std::string file;
  Duration max_xact_age = std::chrono::seconds(30);  // 0: do not list old transactions
  std::string trace_database;  // --trace: run the statements there, rolled back, and compare
  Duration trace_lock_timeout = std::chrono::seconds(1);
  bool json = false;
};

struct DdlRequest {
  ConnectionRequest connection;
  std::string file;  // exactly one of file and sql
  std::string sql;
  Duration lock_timeout = std::chrono::seconds(2);  // never 0: every attempt has one
  int retries = 10;                                 // after the first attempt
  RetryDelay retry_delay;
  Duration statement_timeout{0};  // 0: no limit once the locks are taken
  Duration max_wait{0};           // 0: no budget; else stop retrying once it is spent
  bool drop_invalid = false;      // drop an INVALID index a failed CONCURRENTLY build left
};

// Each validates parsed arguments into a request; errors are one line naming the option.
Expected<CheckRequest> check_request(const Arguments& args);
Expected<TerminateRequest> terminate_request(const Arguments& args);
Expected<PreflightRequest> preflight_request(const Arguments& args);
Expected<DdlRequest> ddl_request(const Arguments& args);

}  // namespace lockwatch
