#include <algorithm>
#include <iostream>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "cli/sql_input.hpp"
#include "cli/subcommands.hpp"
#include "core/preflight_report.hpp"
#include "parser/sql_parser.hpp"
#include "pg/catalog_lookup.hpp"
#include "pg/lock_conflicts.hpp"
#include "pg/lock_trace.hpp"

namespace lockwatch {
namespace {

using namespace std::chrono_literals;

// The traced statements' own statement_timeout: a rewrite of a big table on a copy of
// production may take a while, but not forever.
constexpr Duration k_trace_statement_timeout = 60s;

// The catalog phase reads one relation at a time: its hard deadline (against a frozen
// server) is this many steps.
constexpr int k_catalog_steps = 10;

// The statements of --sql or --file, as PostgreSQL's parser reads them; a syntax error
// or an empty input is a usage error.
std::vector<ClassifiedStatement> read_statements(const PreflightRequest& request) {
  const std::string sql = read_sql_input(request.sql, request.file, "preflight");
  if (blank_sql(sql)) throw std::runtime_error("preflight: no SQL in " + request.file);

  const auto tree = parse_sql(sql);
  if (!tree) throw std::runtime_error("preflight: " + tree.error());
  auto statements = classify_statements(*tree, sql);
  if (!statements) throw std::runtime_error("preflight: " + statements.error());
  const std::string source = request.file.empty() ? "--sql" : request.file;
  if (statements->empty()) throw std::runtime_error("preflight: no statement in " + source);
  return std::move(*statements);
}

std::vector<StatementTrace> trace(const CliTarget& target, const PreflightRequest& request,
                                  const std::vector<ClassifiedStatement>& statements,
                                  const std::string& database) {
  if (database != request.trace_database) {
    throw std::runtime_error("preflight: --trace " + request.trace_database +
                             ": the connection is to database \"" + database +
                             "\"; --trace must name the database the statements may run in");
  }
  SessionSettings settings = watch_settings(target);
  settings.read_only = false;
  settings.lock_timeout = request.trace_lock_timeout;
  settings.statement_timeout = k_trace_statement_timeout;
  const auto session = open_cli_session(target, settings, PoolerRule::skip, "preflight");
  // Each statement may take its statement_timeout; a frozen server, no longer.
  const Duration limit = (k_trace_statement_timeout + step_deadline(target.config.watch)) *
                         static_cast<int>(statements.size() + 1);
  return within_deadline(session->abort_switch(), limit, "preflight", [&] {
    return trace_statements(*session, statements, request.trace_lock_timeout,
                            k_trace_statement_timeout);
  });
}

// Names resolve as the migration will resolve them: after its SET search_path, on that.
void follow_search_path(pqxx::work& tx, const std::string& value) {
  if (value.empty()) return use_default_search_path(tx);
  tx.exec_params("SELECT pg_catalog.set_config('search_path', $1, true)", value);
}

bool server_sets_lock_timeout(pqxx::work& tx) {
  return tx
      .exec1("SELECT reset_val <> '0' FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'")[0]
      .as<bool>();
}

// Each statement's footprint in the live catalog, its advice, and what --trace saw.
std::vector<StatementCheck> plan_checks(pqxx::work& tx, const PreflightRequest& request,
                                        const std::vector<ClassifiedStatement>& statements,
                                        std::vector<StatementTrace> traces) {
  PgCatalogLookup catalog(tx);
  if (!request.tables.empty()) {
    StatementCheck check = table_check(request);
    check.footprint = expand_footprint(check.statement.locks, catalog);
    if (!check.footprint.missing.empty()) {
      throw std::runtime_error("no such table: " + check.footprint.missing.front());
    }
    return {std::move(check)};
  }
  const auto advice = advise(statements, server_sets_lock_timeout(tx));
  std::vector<StatementCheck> checks;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    if (i > 0 && statements[i - 1].search_path)
      follow_search_path(tx, *statements[i - 1].search_path);
    StatementCheck check;
    check.statement = statements[i];
    check.footprint = expand_footprint(check.statement.locks, catalog);
    check.advice = advice[i];
    if (i < traces.size()) attach_trace(check, std::move(traces[i]));
    checks.push_back(std::move(check));
  }
  return checks;
}

std::vector<Oid> footprint_oids(const std::vector<StatementCheck>& checks) {
  std::vector<Oid> oids;
  for (const StatementCheck& c : checks) {
    for (const FootprintLock& l : c.footprint.locks) oids.push_back(l.oid);
  }
  return oids;
}

bool any_advisory(const std::vector<StatementCheck>& checks) {
  return std::any_of(checks.begin(), checks.end(),
                     [](const StatementCheck& c) { return !c.statement.advisory.empty(); });
}

int run_preflight(const PreflightRequest& request) {
  const std::vector<ClassifiedStatement> statements =
      request.tables.empty() ? read_statements(request) : std::vector<ClassifiedStatement>{};
  const CliTarget target = load_cli_target(request.connection);
  const auto session =
      open_cli_session(target, watch_settings(target), PoolerRule::warn, "preflight");
  const std::string database = session->connection().dbname();
  std::vector<StatementTrace> traces;
  if (!request.trace_database.empty()) traces = trace(target, request, statements, database);
  // Catalog and locks first, then activity: every holder seen is then in the snapshot
  // unless it ended. The catalog is read one relation at a time: a generous deadline.
  const auto [checks, locks] = within_deadline(
      session->abort_switch(), k_catalog_steps * step_deadline(target.config.watch), "preflight",
      [&] {
        pqxx::work tx(session->connection());
        use_default_search_path(tx);
        std::vector<StatementCheck> planned =
            plan_checks(tx, request, statements, std::move(traces));
        auto held = read_held_locks(tx, footprint_oids(planned), any_advisory(planned));
        tx.commit();
        return std::pair(std::move(planned), std::move(held));
      });
  const Observation obs = observe(*session, target.config.watch, "preflight");
  const PreflightReport report = assess_preflight(request, checks, obs, locks, database);
  std::cout << (request.json ? render_preflight_json(report) + "\n"
                             : render_preflight_text(report));
  return report.clear() ? k_exit_ok : k_exit_found;
}

}  // namespace

int preflight_command(std::span<const std::string> raw) {
  auto request = read_request("preflight", raw, preflight_spec(), preflight_request);
  if (const int* code = std::get_if<int>(&request)) return *code;
  return run_preflight(std::get<PreflightRequest>(request));
}

}  // namespace lockwatch
