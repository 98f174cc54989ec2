#pragma once

#include <memory>
#include <string>

#include "core/duration.hpp"
#include "core/pooler_sockets.hpp"
#include "pg/session_abort.hpp"

struct pg_conn;

namespace lockwatch {

// A pooler's admin console (pgbouncer's "pgbouncer" database), read with libpq's simple
// query protocol, the only one the console speaks. The connection is kept between reads
// and opened again after any failure. Every read is bounded: libpq's connect_timeout for
// the connect, then `timeout` for SHOW SERVERS and SHOW CLIENTS together, after which the
// socket is shut down. One thread at a time.
class PoolerConsole {
 public:
  PoolerConsole(std::string name, std::string dsn, Duration timeout);
  ~PoolerConsole();
  PoolerConsole(const PoolerConsole&) = delete;
  PoolerConsole& operator=(const PoolerConsole&) = delete;

  // Never throws: a failed read is a reading with up = false and the error (DSN masked).
  PoolerReading read();

  const std::string& name() const { return m_name; }
  const std::string& dsn() const { return m_dsn; }
  Duration timeout() const { return m_timeout; }

  // Any thread: makes a read blocked on a frozen pooler fail now.
  void abort() noexcept { m_abort.trip(); }

 private:
  void connect();
  void disconnect() noexcept;
  ConsoleTable show(const char* command);

  std::string m_name;
  std::string m_dsn;
  Duration m_timeout;
  pg_conn* m_connection = nullptr;
  AbortSwitch m_abort;
};

}  // namespace lockwatch
