#include "pg/pooler_console.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <stdexcept>

#include "core/dsn_redaction.hpp"
#include "pg/session.hpp"

namespace lockwatch {
namespace {

std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Micros unix_micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ConsoleTable table_of(const PGresult* result) {
  ConsoleTable table;
  const int columns = PQnfields(result);
  for (int c = 0; c < columns; ++c) table.columns.emplace_back(PQfname(result, c));
  const int rows = PQntuples(result);
  table.rows.reserve(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    auto& row = table.rows.emplace_back();
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result, r, c)) {
        row.emplace_back();
      } else {
        row.emplace_back(std::string(PQgetvalue(result, r, c),
                                     static_cast<std::size_t>(PQgetlength(result, r, c))));
      }
    }
  }
  return table;
}

}  // namespace

PoolerConsole::PoolerConsole(std::string name, std::string dsn, Duration timeout)
    : m_name(std::move(name)), m_dsn(std::move(dsn)), m_timeout(timeout) {}

PoolerConsole::~PoolerConsole() {
  disconnect();
}

void PoolerConsole::disconnect() noexcept {
  m_abort.disarm();
  if (m_connection) PQfinish(m_connection);
  m_connection = nullptr;
}

void PoolerConsole::connect() {
  m_connection = PQconnectdb(build_conninfo(m_dsn, m_timeout).c_str());
  if (PQstatus(m_connection) != CONNECTION_OK) {
    const std::string why = one_line(PQerrorMessage(m_connection));
    disconnect();
    throw std::runtime_error("cannot connect to the admin console " + mask_dsn(m_dsn) + ": " +
                             mask_dsn(why));
  }
  m_abort.arm(PQsocket(m_connection));
}

ConsoleTable PoolerConsole::show(const char* command) {
  PGresult* result = PQexec(m_connection, command);
  if (PQresultStatus(result) != PGRES_TUPLES_OK) {
    const std::string why = one_line(result ? PQresultErrorMessage(result) : "");
    PQclear(result);
    throw std::runtime_error(std::string(command) + " failed: " +
                             (why.empty() ? one_line(PQerrorMessage(m_connection)) : why));
  }
  ConsoleTable table = table_of(result);
  PQclear(result);
  return table;
}

PoolerReading PoolerConsole::read() {
  PoolerReading reading;
  reading.pooler = m_name;
  try {
    m_abort.reset();
    if (!m_connection) connect();
    const AbortAfter deadline(m_abort, m_timeout);
    // Before the first SHOW: the links read are at least this recent.
    reading.started_at = unix_micros_now();
    auto servers = read_pooler_sockets(show("SHOW SERVERS"), "SHOW SERVERS");
    auto clients = read_pooler_sockets(show("SHOW CLIENTS"), "SHOW CLIENTS");
    if (!servers) throw std::runtime_error(servers.error());
    if (!clients) throw std::runtime_error(clients.error());
    reading.servers = std::move(*servers);
    reading.clients = std::move(*clients);
    reading.up = true;
  } catch (const std::exception& e) {
    reading.error = m_abort.tripped()
                        ? "no answer within " + format_duration(m_timeout) + " (" + e.what() + ")"
                        : e.what();
    disconnect();
  }
  return reading;
}

}  // namespace lockwatch
