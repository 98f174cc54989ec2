#include "pg/termination.hpp"

namespace lockwatch {
namespace {

// One statement re-checks identity and signals: between a poll and the signal the pid may
// have been reused or the session may have moved on, and then nothing is sent.
const char* const k_signal_sql = R"SQL(
SELECT pg_catalog.%s(s.pid)
  FROM pg_catalog.pg_stat_get_activity($1) AS s
 WHERE s.pid = $1
   AND (date_part('epoch', s.backend_start) * 1000000)::int8 = $2
   AND s.state = $3
   AND (date_part('epoch', s.state_change) * 1000000)::int8 = $4
)SQL";

std::string signal_sql(PolicyAction action) {
  const char* function =
      action == PolicyAction::cancel ? "pg_cancel_backend" : "pg_terminate_backend";
  std::string sql = k_signal_sql;
  return sql.replace(sql.find("%s"), 2, function);
}

}  // namespace

Outcome signal_backend(pqxx::connection& connection, PolicyAction action,
                       const SessionIdentity& target, std::string& error) {
  try {
    pqxx::nontransaction tx(connection);
    const pqxx::result rows = tx.exec_params(signal_sql(action), target.pid, target.backend_start,
                                             target.state, target.state_change);
    if (rows.empty()) return Outcome::vanished;
    if (!rows[0][0].as<bool>()) {
      error = "the server could not signal the process";
      return Outcome::failed;
    }
    return action == PolicyAction::cancel ? Outcome::cancelled : Outcome::terminated;
  } catch (const pqxx::insufficient_privilege& e) {
    error = e.what();
    return Outcome::denied;
  } catch (const std::exception& e) {
    error = e.what();
    return Outcome::failed;
  }
}

}  // namespace lockwatch
