#pragma once

#include <atomic>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "core/duration.hpp"

namespace lockwatch {

struct SessionSettings {
  std::string dsn;  // conninfo or URI; empty: libpq environment variables
  Duration statement_timeout = std::chrono::seconds(2);
  Duration lock_timeout = std::chrono::milliseconds(100);
  Duration connect_timeout = std::chrono::seconds(5);
  bool read_only = true;
};

// What pooler detection found on a fresh connection.
struct PoolerCheck {
  bool via_pooler = false;
  std::string reason;  // why, for the warning
};

// A PostgreSQL session set up so the watchdog can never be the problem: it announces
// itself as application_name=pg_lockwatch, has short statement and lock timeouts, runs
// read-only unless asked otherwise, and can be cut off from another thread.
class Session {
 public:
  // Connects; throws pqxx::broken_connection (message with the password masked) on failure.
  explicit Session(const SessionSettings& settings);

  pqxx::connection& connection() { return m_connection; }
  int backend_pid() const { return m_connection.backendpid(); }
  std::string server_version();

  // Compares the port the DSN names with inet_server_port() and checks that the backend
  // pid survives a transaction boundary: a mismatch means a pooler or proxy is in the way.
  PoolerCheck detect_pooler();

  // Thread-safe: shuts the socket down so that a call blocked on a frozen server fails now.
  void abort() noexcept;

 private:
  std::string m_masked_dsn;
  pqxx::connection m_connection;
  std::atomic<int> m_socket{-1};
};

// The DSN with connect_timeout (when it sets none) and application_name added, as a
// conninfo string libpq parses; throws std::invalid_argument naming what is wrong.
std::string build_conninfo(const std::string& dsn, Duration connect_timeout);

}  // namespace lockwatch
