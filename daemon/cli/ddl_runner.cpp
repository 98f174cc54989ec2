#include "cli/ddl_runner.hpp"

#include <future>

#include "cli/cli_session.hpp"
#include "cli/command_line.hpp"
#include "core/chain_tree.hpp"
#include "core/session_description.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr auto k_report_interval = std::chrono::seconds(1);
constexpr auto k_interrupt_poll = std::chrono::milliseconds(100);
constexpr std::size_t k_blocker_query_chars = 40;
constexpr const char* k_lock_not_available = "55P03";
constexpr const char* k_query_canceled = "57014";

std::string milliseconds(Duration d) {
  return "'" + std::to_string(d.count()) + "ms'";
}

std::string indented(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    out += "  " + text.substr(start, end - start + 1);
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

std::string describe_roots(const Observation& obs, int pid) {
  std::string out;
  for (int root : roots_in_front_of(obs, pid)) {
    out += (out.empty() ? "" : ", ") + std::to_string(root) + " (" +
           describe_backend(obs, root, k_blocker_query_chars) + ")";
  }
  return out;
}

ActivityOptions report_options(const WatchConfig& watch) {
  ActivityOptions options;
  options.query_text_max = watch.query_text_max;
  options.redact_queries = watch.redact_queries;
  return options;
}

}  // namespace

DdlRunner::DdlRunner(Session& ddl, Session& report, const DdlRequest& request,
                     const WatchConfig& watch, std::ostream& out,
                     const std::atomic<bool>& interrupted)
    : m_ddl(ddl),
      m_report(report),
      m_options(report_options(watch)),
      m_lock_timeout(request.lock_timeout),
      m_statement_timeout(request.statement_timeout),
      m_step_deadline(step_deadline(watch)),
      m_out(out),
      m_interrupted(interrupted) {
  // The session pins search_path to pg_catalog for the watchdog's own queries; the DDL
  // must resolve names as it would in psql.
  m_ddl_pid = within_deadline(m_ddl.abort_switch(), m_step_deadline, "ddl", [this] {
    pqxx::nontransaction tx(m_ddl.connection());
    tx.exec("RESET search_path; RESET jit");
    return tx.exec1("SELECT pg_catalog.pg_backend_pid()")[0].as<int>();
  });
  m_query = within_deadline(m_report.abort_switch(), m_step_deadline, "ddl", [this] {
    return std::make_unique<ActivityQuery>(m_report.connection(),
                                           read_server_info(m_report.connection()));
  });
}

void DdlRunner::prepare() {
  within_deadline(m_ddl.abort_switch(), m_step_deadline, "ddl", [this] {
    pqxx::nontransaction tx(m_ddl.connection());
    tx.exec("SET lock_timeout = " + milliseconds(m_lock_timeout) +
            "; SET statement_timeout = " + milliseconds(m_statement_timeout));
  });
}

// Whether the DDL session sits in a transaction (open or failed), as the server says: its
// state is set before the result of the last statement reaches us. A ROLLBACK outside a
// transaction would put a warning in the server's log, so one is sent only when needed.
bool DdlRunner::in_transaction() {
  try {
    return within_deadline(m_report.abort_switch(), m_step_deadline, "ddl", [this] {
      pqxx::nontransaction tx(m_report.connection());
      const pqxx::result r =
          tx.exec_params("SELECT a.state FROM pg_catalog.pg_stat_get_activity($1) AS a", ddl_pid());
      return r.empty() || r[0][0].is_null() ||
             r[0][0].as<std::string>().starts_with("idle in transaction");
    });
  } catch (const std::exception&) {
    return true;  // cannot tell: a stray warning is better than a transaction left open
  }
}

// SQL with its own BEGIN leaves the session in a transaction after a failure; one it
// did not end after a success is not committed for it.
void DdlRunner::settle(DdlAttempt& attempt) {
  if (!in_transaction()) return;
  try {
    within_deadline(m_ddl.abort_switch(), m_step_deadline, "ddl",
                    [this] { pqxx::nontransaction(m_ddl.connection()).exec("ROLLBACK"); });
  } catch (const std::exception& e) {
    attempt.result = AttemptResult::error;
    attempt.error = "could not roll back: " + one_line(e.what());
    return;
  }
  if (attempt.result == AttemptResult::done) {
    attempt.result = AttemptResult::error;
    attempt.error =
        "the SQL began a transaction and did not end it; it was rolled back (end it with COMMIT)";
  }
}

DdlAttempt DdlRunner::drop_index(const std::string& index, int number, Duration lock_timeout) {
  DdlAttempt attempt;
  attempt.number = number;
  const auto started = Clock::now();
  m_lock_timeout = lock_timeout;
  m_cancelled = false;
  try {
    prepare();
  } catch (const std::exception& e) {
    attempt.result = AttemptResult::error;
    attempt.error = one_line(e.what());
    return attempt;
  }
  const Execution done = execute("DROP INDEX CONCURRENTLY IF EXISTS " + index);
  attempt.result = done.result;
  attempt.error = done.error;
  attempt.took = std::chrono::duration_cast<Duration>(Clock::now() - started);
  return attempt;
}

DdlRunner::Execution DdlRunner::execute(const std::string& sql) {
  try {
    pqxx::nontransaction tx(m_ddl.connection());
    tx.exec(sql);
    return {};
  } catch (const pqxx::deadlock_detected& e) {  // not an sql_error in libpqxx 6
    return {AttemptResult::deadlock, one_line(e.what())};
  } catch (const pqxx::sql_error& e) {
    if (m_interrupted && e.sqlstate() == k_query_canceled) {
      return {AttemptResult::interrupted, one_line(e.what())};
    }
    if (m_cancelled && e.sqlstate() == k_query_canceled) {
      return {AttemptResult::lock_timeout,
              "waited on a lock for lock_timeout " + format_duration(m_lock_timeout) +
                  " although the SQL had changed lock_timeout: cancelled by pg_lockwatch"};
    }
    const bool timed_out = e.sqlstate() == k_lock_not_available;
    return {timed_out ? AttemptResult::lock_timeout : AttemptResult::error, one_line(e.what())};
  } catch (const std::exception& e) {
    if (m_ddl.abort_switch().tripped()) {
      return {AttemptResult::error, no_answer_error("ddl", m_step_deadline)};
    }
    return {AttemptResult::error, one_line(e.what())};
  }
}

bool DdlRunner::report(DdlAttempt& attempt) {
  try {
    const Observation obs(within_deadline(m_report.abort_switch(), m_step_deadline, "ddl",
                                          [this] { return m_query->run(m_options); }));
    if (!obs.graph().is_waiting(ddl_pid())) return false;
    attempt.blocked_by = describe_roots(obs, ddl_pid());
    m_out << "attempt " << attempt.number << ": waiting "
          << whole_seconds(obs.wait_seconds(ddl_pid())) << " for a lock behind:\n"
          << indented(render_chain_tree(obs, TreeOptions{ddl_pid(), "this DDL", 60})) << std::flush;
    return true;
  } catch (const std::exception& e) {
    m_out << "attempt " << attempt.number
          << ": could not read the blocking chain: " << one_line(e.what()) << "\n";
    // The server no longer answers the report session: nothing holds the attempt to its
    // lock_timeout any more, so it ends too.
    if (m_report.abort_switch().tripped()) m_ddl.abort();
    return false;
  }
}

void DdlRunner::hold_to_lock_timeout(bool waiting) {
  const auto now = Clock::now();
  if (!waiting) {
    m_waiting_since.reset();
    return;
  }
  if (!m_waiting_since) m_waiting_since = now;
  if (m_cancelled || now - *m_waiting_since < m_lock_timeout) return;
  m_cancelled = true;
  try {
    within_deadline(m_report.abort_switch(), m_step_deadline, "ddl", [this] {
      pqxx::nontransaction(m_report.connection())
          .exec_params("SELECT pg_catalog.pg_cancel_backend($1)", ddl_pid());
    });
  } catch (const std::exception& e) {
    m_out << "could not cancel the attempt: " << one_line(e.what()) << "\n";
  }
}

DdlAttempt DdlRunner::attempt(const std::string& sql, int number, Duration lock_timeout) {
  DdlAttempt attempt;
  attempt.number = number;
  const auto started = Clock::now();
  m_lock_timeout = lock_timeout;
  m_waiting_since.reset();
  m_cancelled = false;
  try {
    prepare();
  } catch (const std::exception& e) {
    attempt.result = AttemptResult::error;
    attempt.error = one_line(e.what());
    return attempt;
  }
  auto running = std::async(std::launch::async, [this, &sql] { return execute(sql); });
  // Look once before a short lock_timeout expires, then every second; watch for Ctrl-C
  // in between.
  auto next = started + std::min<Clock::duration>(k_report_interval, m_lock_timeout / 2);
  bool interrupt_sent = false;
  while (running.wait_until(std::min(next, Clock::now() + k_interrupt_poll)) ==
         std::future_status::timeout) {
    if (m_interrupted && !interrupt_sent) {
      m_ddl.connection().cancel_query();  // PQcancel: the server ends the statement
      interrupt_sent = true;
    }
    if (interrupt_sent || Clock::now() < next) continue;
    hold_to_lock_timeout(report(attempt));
    next = Clock::now() + k_report_interval;
    if (m_waiting_since && !m_cancelled) next = std::min(next, *m_waiting_since + m_lock_timeout);
  }
  const Execution done = running.get();
  attempt.result = done.result;
  attempt.error = done.error;
  attempt.took = std::chrono::duration_cast<Duration>(Clock::now() - started);
  settle(attempt);
  return attempt;
}

}  // namespace lockwatch
