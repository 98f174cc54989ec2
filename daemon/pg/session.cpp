#include "pg/session.hpp"

#include <libpq-fe.h>
#include <sys/socket.h>

#include <stdexcept>

#include "core/dsn_redaction.hpp"

namespace lockwatch {
namespace {

std::string quote_conninfo_value(const char* value) {
  std::string out = "'";
  for (const char* p = value; *p; ++p) {
    if (*p == '\'' || *p == '\\') out += '\\';
    out += *p;
  }
  return out + "'";
}

std::string milliseconds(Duration d) {
  return std::to_string(d.count()) + "ms";
}

// Parses with libpq itself so URIs and key=value strings are read exactly as libpq would.
PQconninfoOption* parse_dsn(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (!options) {
    std::string why = error ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw std::invalid_argument("invalid DSN " + mask_dsn(dsn) + ": " + why);
  }
  return options;
}

}  // namespace

std::string build_conninfo(const std::string& dsn, Duration connect_timeout) {
  PQconninfoOption* options = parse_dsn(dsn);
  std::string conninfo;
  bool has_timeout = false;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || std::string_view(o->keyword) == "application_name") continue;
    has_timeout |= std::string_view(o->keyword) == "connect_timeout";
    conninfo += std::string(o->keyword) + "=" + quote_conninfo_value(o->val) + " ";
  }
  PQconninfoFree(options);
  if (!has_timeout) {
    const auto seconds = std::max<long long>(2, (connect_timeout.count() + 999) / 1000);
    conninfo += "connect_timeout=" + std::to_string(seconds) + " ";
  }
  return conninfo + "application_name=pg_lockwatch";
}

Session::Session(const SessionSettings& settings)
    : m_masked_dsn(mask_dsn(settings.dsn)),
      m_connection(build_conninfo(settings.dsn, settings.connect_timeout)) {
  m_socket = m_connection.sock();
  pqxx::nontransaction tx(m_connection);
  tx.exec("SET search_path = pg_catalog; SET jit = off; SET statement_timeout = '" +
          milliseconds(settings.statement_timeout) + "'; SET lock_timeout = '" +
          milliseconds(settings.lock_timeout) + "'; SET idle_in_transaction_session_timeout = '" +
          milliseconds(settings.statement_timeout * 5) + "'" +
          (settings.read_only ? "; SET default_transaction_read_only = on" : ""));
}

std::string Session::server_version() {
  pqxx::nontransaction tx(m_connection);
  return tx.exec1("SELECT current_setting('server_version')")[0].as<std::string>();
}

PoolerCheck Session::detect_pooler() {
  const std::string dsn_port = m_connection.port() ? m_connection.port() : "";
  const std::string host = m_connection.hostname() ? m_connection.hostname() : "";
  const bool over_socket = !host.empty() && host.front() == '/';
  pqxx::nontransaction tx(m_connection);
  const pqxx::row first = tx.exec1("SELECT inet_server_port(), pg_backend_pid()");
  const pqxx::row second = tx.exec1("SELECT pg_backend_pid()");
  const std::string server_port = first[0].is_null() ? "" : first[0].as<std::string>();
  if (first[1].as<int>() != second[0].as<int>()) {
    return {true, "the backend pid changed between two transactions (transaction pooling)"};
  }
  if (over_socket && !server_port.empty()) {
    return {true, "connected over a Unix socket but the server sees a TCP connection on port " +
                      server_port};
  }
  if (!over_socket && !server_port.empty() && server_port != dsn_port) {
    return {true,
            "the DSN names port " + dsn_port + " but the server listens on port " + server_port};
  }
  return {};
}

void Session::abort() noexcept {
  const int socket = m_socket.load();
  if (socket >= 0) ::shutdown(socket, SHUT_RDWR);
}

}  // namespace lockwatch
