#pragma once

#include <optional>
#include <string>
#include <unordered_map>

namespace lockwatch {

// The application behind a pooler's server connection, as the pooler's SHOW CLIENTS has it.
struct PoolerClient {
  std::string addr;
  int port = 0;
  std::string application_name;
  std::string user;
  std::string database;
  std::string connect_time;
  std::string state;
  std::string id;  // pgbouncer 1.23+
};

// What a pooler said about the backend of one of its server connections.
struct PoolerLink {
  std::string pooler;        // the [[pooler]] name
  std::string server_state;  // the pooler's state of the server connection
  // The client it serves; none when the pooler links it to no client, or to one its
  // SHOW CLIENTS did not list (client_unlisted).
  std::optional<PoolerClient> client;
  bool client_unlisted = false;
};

// Pooler links by backend pid.
using PoolerLinks = std::unordered_map<int, PoolerLink>;

}  // namespace lockwatch
