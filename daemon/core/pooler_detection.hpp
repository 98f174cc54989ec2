#pragma once

#include <optional>
#include <string>

namespace lockwatch {

// An address and port as text ("127.0.0.1", 5432).
struct Endpoint {
  std::string addr;
  int port = 0;
};

// What a fresh connection tells about the path to the server.
struct ConnectionView {
  bool over_unix_socket = false;        // libpq connected to a socket path
  std::string dsn_port;                 // the port libpq connected to
  std::string server_port;              // inet_server_port(): empty over a Unix socket
  bool backend_pid_changed = false;     // pg_backend_pid() differed between two transactions
  std::optional<Endpoint> local;        // getsockname() of libpq's TCP socket
  std::optional<Endpoint> server_sees;  // inet_client_addr()/inet_client_port()
};

// What pooler detection found on a fresh connection.
struct PoolerCheck {
  bool via_pooler = false;
  std::string reason;  // why, for the warning
};

// A pooler or proxy is in the way when the backend pid changes between transactions
// (transaction pooling), when a Unix-socket connection reaches a TCP backend, or when the
// server sees our connection coming from another address or port than the socket libpq
// holds: whatever relays it opened its own connection, on any port. When the server sees
// exactly our socket the connection is direct, even if the port we dialled is not the one
// the server listens on (a port mapped by NAT, Docker's -p). Without both endpoints (a
// Unix socket, a server that does not say) the dialled and listening ports are compared.
PoolerCheck judge_connection(const ConnectionView& view);

// "::ffff:10.0.0.7" -> "10.0.0.7": the IPv4 address inside an IPv4-mapped IPv6 one.
std::string unmapped_address(std::string addr);

}  // namespace lockwatch
