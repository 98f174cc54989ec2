#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/activity.hpp"
#include "core/expected.hpp"

namespace lockwatch {

// A result as the pooler's admin console returned it: column names, then text cells
// (nullopt for NULL). The console speaks only the simple query protocol, so every cell is
// text; columns are found by name, since they differ between pgbouncer versions.
struct ConsoleTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// One row of pgbouncer's SHOW SERVERS or SHOW CLIENTS (1.18 and newer).
struct PoolerSocket {
  std::string user;
  std::string database;
  std::string state;  // pgbouncer's: active, idle, used, waiting, ...
  std::string addr;   // the peer: the client's address, or the server's
  int port = 0;
  std::string local_addr;
  int local_port = 0;
  std::string connect_time;      // as pgbouncer prints it
  std::string ptr;               // this socket's address in pgbouncer's memory
  std::string link;              // the linked socket's ptr: a server's client, a client's server
  int remote_pid = 0;            // a server's: the backend pid (from the cancel key)
  std::string application_name;  // a client's (1.18+)
  std::string id;                // pgbouncer 1.23+: a stable socket id; empty before
};

// The rows of a SHOW SERVERS or SHOW CLIENTS result; an error names the missing column
// (`command` says which result it was).
Expected<std::vector<PoolerSocket>> read_pooler_sockets(const ConsoleTable& table,
                                                        std::string_view command);

// One read of one pooler's admin console.
struct PoolerReading {
  std::string pooler;  // its [[pooler]] name
  bool up = false;
  std::string error;  // why the read failed (DSN masked)
  // When the read began, on the server's clock scale (microseconds since the epoch, read
  // from the daemon's host clock): a backend whose state_change is older was in the same
  // state, and so linked to the same client, when the pooler answered.
  Micros started_at = 0;
  Micros finished_at = 0;  // when the last answer arrived (same clock)
  std::vector<PoolerSocket> servers;
  std::vector<PoolerSocket> clients;
};

}  // namespace lockwatch
