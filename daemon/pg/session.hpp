#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "core/duration.hpp"
#include "core/pooler_detection.hpp"
#include "pg/session_abort.hpp"

namespace lockwatch {

struct SessionSettings {
  std::string dsn;  // conninfo or URI; empty: libpq environment variables
  Duration statement_timeout = std::chrono::seconds(2);
  Duration lock_timeout = std::chrono::milliseconds(100);
  Duration connect_timeout = std::chrono::seconds(5);
  bool read_only = true;
};

// A PostgreSQL session set up so the watchdog can never be the problem: it announces
// itself as application_name=pg_lockwatch, has short statement and lock timeouts, runs
// read-only unless asked otherwise, never reconnects behind its owner's back, and can be
// cut off from another thread through its AbortSwitch from the moment it is connected.
class Session {
 public:
  // Connects (libpq bounds that with connect_timeout), arms `abort` with the socket, then
  // runs the set-up statements; throws pqxx::broken_connection (password masked) or, when
  // `abort` was tripped, whatever the cut-off call threw.
  explicit Session(const SessionSettings& settings,
                   std::shared_ptr<AbortSwitch> abort = std::make_shared<AbortSwitch>());
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  pqxx::connection& connection() { return m_connection; }
  // The server's pg_backend_pid() at connect (under transaction pooling, of that moment).
  int backend_pid() const { return m_backend_pid; }
  std::string server_version();
  AbortSwitch& abort_switch() { return *m_abort; }

  // Whether a pooler or proxy is in the way (judge_connection): the backend pid across a
  // transaction boundary, the server's view of our connection against our own socket, and
  // the ports.
  PoolerCheck detect_pooler();

  // Thread-safe: shuts the socket down so that a call blocked on a frozen server fails now.
  void abort() noexcept { m_abort->trip(); }

 private:
  void set_up(const SessionSettings& settings);

  std::shared_ptr<AbortSwitch> m_abort;
  std::string m_masked_dsn;
  pqxx::connection m_connection;
  int m_backend_pid = 0;
};

// The DSN as a conninfo string libpq parses, with what it does not set itself added:
// connect_timeout, TCP keepalives (idle 5 s, then every 2 s, 3 probes) and
// tcp_user_timeout (twice connect_timeout), so a dead network is noticed even while no
// statement runs; application_name is always pg_lockwatch. Throws std::invalid_argument
// naming what is wrong.
std::string build_conninfo(const std::string& dsn, Duration connect_timeout);

}  // namespace lockwatch
