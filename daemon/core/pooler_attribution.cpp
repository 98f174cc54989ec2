#include "core/pooler_attribution.hpp"

#include <unordered_map>

namespace lockwatch {
namespace {

PoolerClient client_of(const PoolerSocket& c) {
  return PoolerClient{c.addr,  c.port, c.application_name, c.user, c.database, c.connect_time,
                      c.state, c.id};
}

// The client a server connection serves: by the server's link, else by a client's link.
const PoolerSocket* linked_client(
    const PoolerSocket& server, const std::unordered_map<std::string, const PoolerSocket*>& by_ptr,
    const std::unordered_map<std::string, const PoolerSocket*>& by_link) {
  if (!server.link.empty()) {
    const auto it = by_ptr.find(server.link);
    return it == by_ptr.end() ? nullptr : it->second;
  }
  const auto it = by_link.find(server.ptr);
  return it == by_link.end() ? nullptr : it->second;
}

void attribute_reading(const PoolerReading& reading,
                       const std::unordered_map<int, const Backend*>& backends, PoolerLinks& out) {
  std::unordered_map<std::string, const PoolerSocket*> by_ptr;
  std::unordered_map<std::string, const PoolerSocket*> by_link;
  for (const PoolerSocket& c : reading.clients) {
    if (!c.ptr.empty()) by_ptr.emplace(c.ptr, &c);
    if (!c.link.empty()) by_link.emplace(c.link, &c);
  }
  for (const PoolerSocket& server : reading.servers) {
    const auto found = backends.find(server.remote_pid);
    if (server.remote_pid <= 0 || found == backends.end()) continue;
    const Backend& b = *found->second;
    // Changed state since the pooler answered (or no timestamp to tell): the link may be
    // another client's by now.
    if (!b.state_change || *b.state_change >= reading.started_at) continue;
    PoolerLink link;
    link.pooler = reading.pooler;
    link.server_state = server.state;
    if (const PoolerSocket* c = linked_client(server, by_ptr, by_link)) {
      link.client = client_of(*c);
    } else {
      link.client_unlisted = !server.link.empty();
    }
    out.insert_or_assign(server.remote_pid, std::move(link));
  }
}

}  // namespace

PoolerLinks attribute_backends(std::span<const PoolerReading> readings,
                               const ActivitySnapshot& activity) {
  PoolerLinks links;
  std::unordered_map<int, const Backend*> backends;
  for (const Backend& b : activity.backends) backends.emplace(b.pid, &b);
  for (const PoolerReading& reading : readings) {
    if (reading.up && reading.finished_at <= activity.taken_at)
      attribute_reading(reading, backends, links);
  }
  return links;
}

std::string pooler_label(const PoolerLink& link, bool ghost) {
  if (link.client) {
    return "via " + link.pooler + " " + link.client->addr + ":" + std::to_string(link.client->port);
  }
  const char* why = link.client_unlisted ? "a client it does not list" : "no client";
  return "via " + link.pooler + ", " + why + (ghost ? " (ghost lock)" : "");
}

}  // namespace lockwatch
