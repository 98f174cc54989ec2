#include "pg/termination.hpp"

#include <algorithm>

namespace lockwatch {
namespace {

constexpr int k_version_with_exit_wait = 140000;
constexpr const char* k_query_canceled = "57014";

// One statement re-checks identity and signals: between a poll and the signal the pid may
// have been reused or the session may have moved on, and then nothing is sent.
const char* const k_signal_sql = R"SQL(
SELECT pg_catalog.%s
  FROM pg_catalog.pg_stat_get_activity($1) AS s
 WHERE s.pid = $1
   AND (date_part('epoch', s.backend_start) * 1000000)::int8 = $2
   AND s.state = $3
   AND (date_part('epoch', s.state_change) * 1000000)::int8 = $4
)SQL";

std::string signal_sql(PolicyAction action, bool wait_for_exit) {
  const char* call = action == PolicyAction::cancel ? "pg_cancel_backend(s.pid)"
                     : wait_for_exit                ? "pg_terminate_backend(s.pid, $5::int8)"
                                                    : "pg_terminate_backend(s.pid)";
  std::string sql = k_signal_sql;
  return sql.replace(sql.find("%s"), 2, call);
}

// Keeps the server's notices (pg_terminate_backend's "did not terminate within" warning)
// off stderr and for the reason instead.
class NoticeCapture : public pqxx::errorhandler {
 public:
  explicit NoticeCapture(pqxx::connection_base& connection) : pqxx::errorhandler(connection) {}
  bool operator()(const char message[]) noexcept override {
    m_text = message;
    while (!m_text.empty() && m_text.back() == '\n') m_text.pop_back();
    return false;
  }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

Outcome settle(bool signalled, PolicyAction action, bool waited, const std::string& notice,
               std::string& error) {
  if (signalled) return action == PolicyAction::cancel ? Outcome::cancelled : Outcome::terminated;
  if (waited) {
    error = "signalled, but the backend had not exited yet" +
            (notice.empty() ? std::string() : " (" + notice + ")");
    return Outcome::unknown;
  }
  error = "the server could not signal the process";
  return Outcome::failed;
}

}  // namespace

Duration exit_wait_within(Duration statement_timeout) {
  return std::clamp<Duration>(statement_timeout / 4, Duration(1), std::chrono::milliseconds(250));
}

Outcome signal_backend(pqxx::connection& connection, PolicyAction action,
                       const SessionIdentity& target, Duration exit_wait, std::string& error) {
  const bool waits =
      action == PolicyAction::terminate && connection.server_version() >= k_version_with_exit_wait;
  try {
    NoticeCapture notices(connection);
    pqxx::nontransaction tx(connection);
    const std::string sql = signal_sql(action, waits);
    const pqxx::result rows =
        waits ? tx.exec_params(sql, target.pid, target.backend_start, target.state,
                               target.state_change, static_cast<long long>(exit_wait.count()))
              : tx.exec_params(sql, target.pid, target.backend_start, target.state,
                               target.state_change);
    if (rows.empty()) return Outcome::vanished;
    return settle(rows[0][0].as<bool>(), action, waits, notices.text(), error);
  } catch (const pqxx::insufficient_privilege& e) {
    error = e.what();
    return Outcome::denied;
  } catch (const pqxx::sql_error& e) {
    error = e.what();
    // Cancelled (statement_timeout) after the signal may have gone out.
    return e.sqlstate() == k_query_canceled ? Outcome::unknown : Outcome::failed;
  } catch (const pqxx::broken_connection& e) {
    error = std::string("no answer, the connection was lost: ") + e.what();
    return Outcome::unknown;
  } catch (const pqxx::in_doubt_error& e) {
    error = std::string("no answer: ") + e.what();
    return Outcome::unknown;
  } catch (const std::exception& e) {
    error = e.what();
    return Outcome::failed;
  }
}

}  // namespace lockwatch
