#include "pg/session.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

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

// The address and port of a TCP socket, or nullopt (a Unix socket, an error).
std::optional<Endpoint> local_endpoint(int socket) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (socket < 0 || getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return std::nullopt;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    if (!inet_ntop(AF_INET, &in.sin_addr, text, sizeof text)) return std::nullopt;
    return Endpoint{text, ntohs(in.sin_port)};
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (!inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text)) return std::nullopt;
    return Endpoint{text, ntohs(in6.sin6_port)};
  }
  return std::nullopt;
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
  const auto timeout_s = std::max<long long>(2, (connect_timeout.count() + 999) / 1000);
  // Added when the DSN leaves them unset; over a Unix socket libpq ignores the TCP ones.
  std::vector<std::pair<std::string_view, std::string>> defaults = {
      {"connect_timeout", std::to_string(timeout_s)},
      {"keepalives", "1"},
      {"keepalives_idle", "5"},
      {"keepalives_interval", "2"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", std::to_string(2 * timeout_s * 1000)},
  };
  PQconninfoOption* options = parse_dsn(dsn);
  std::string conninfo;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || std::string_view(o->keyword) == "application_name") continue;
    std::erase_if(defaults, [o](const auto& d) { return d.first == o->keyword; });
    conninfo += std::string(o->keyword) + "=" + quote_conninfo_value(o->val) + " ";
  }
  PQconninfoFree(options);
  for (const auto& [keyword, value] : defaults) {
    conninfo += std::string(keyword) + "=" + quote_conninfo_value(value.c_str()) + " ";
  }
  return conninfo + "application_name=pg_lockwatch";
}

Session::Session(const SessionSettings& settings, std::shared_ptr<AbortSwitch> abort)
    : m_abort(std::move(abort)),
      m_masked_dsn(mask_dsn(settings.dsn)),
      m_connection(build_conninfo(settings.dsn, settings.connect_timeout)) {
  // From here on a frozen server can be cut off: before the SETs, not after them.
  m_abort->arm(m_connection.sock());
  // libpqxx 6 reconnects a broken connection by itself at the next transaction: without
  // the settings below, and on a socket the switch never saw. A lost session stays lost.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  m_connection.inhibit_reactivation(true);
#pragma GCC diagnostic pop
  try {
    set_up(settings);
  } catch (...) {
    m_abort->disarm();
    throw;
  }
}

Session::~Session() {
  m_abort->disarm();
}

void Session::set_up(const SessionSettings& settings) {
  pqxx::nontransaction tx(m_connection);
  // The pid from the server, not libpq's: through a pooler, libpq's is the pooler's
  // made-up cancel key. The last statement's result is the one returned.
  const pqxx::result pid = tx.exec(
      "SET search_path = pg_catalog; SET jit = off; SET statement_timeout = '" +
      milliseconds(settings.statement_timeout) + "'; SET lock_timeout = '" +
      milliseconds(settings.lock_timeout) + "'; SET idle_in_transaction_session_timeout = '" +
      milliseconds(settings.statement_timeout * 5) + "'" +
      (settings.read_only ? "; SET default_transaction_read_only = on" : "") +
      "; SELECT pg_backend_pid()");
  m_backend_pid = pid.at(0).at(0).as<int>();
}

std::string Session::server_version() {
  pqxx::nontransaction tx(m_connection);
  return tx.exec1("SELECT current_setting('server_version')")[0].as<std::string>();
}

PoolerCheck Session::detect_pooler() {
  ConnectionView view;
  view.dsn_port = m_connection.port() ? m_connection.port() : "";
  const std::string host = m_connection.hostname() ? m_connection.hostname() : "";
  view.over_unix_socket = !host.empty() && host.front() == '/';
  pqxx::nontransaction tx(m_connection);
  const pqxx::row first = tx.exec1(
      "SELECT inet_server_port(), pg_backend_pid(), host(inet_client_addr()), "
      "inet_client_port()");
  const pqxx::row second = tx.exec1("SELECT pg_backend_pid()");
  view.server_port = first[0].is_null() ? "" : first[0].as<std::string>();
  view.backend_pid_changed = first[1].as<int>() != second[0].as<int>();
  if (!first[2].is_null() && !first[3].is_null()) {
    view.server_sees = Endpoint{first[2].as<std::string>(), first[3].as<int>()};
  }
  if (!view.over_unix_socket) view.local = local_endpoint(m_connection.sock());
  return judge_connection(view);
}

}  // namespace lockwatch
