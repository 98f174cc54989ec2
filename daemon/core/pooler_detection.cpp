#include "core/pooler_detection.hpp"

namespace lockwatch {
namespace {

std::string text(const Endpoint& e) {
  return e.addr + ":" + std::to_string(e.port);
}

}  // namespace

std::string unmapped_address(std::string addr) {
  constexpr std::string_view k_mapped = "::ffff:";
  if (addr.rfind(k_mapped, 0) == 0 && addr.find('.') != std::string::npos) {
    addr.erase(0, k_mapped.size());
  }
  return addr;
}

PoolerCheck judge_connection(const ConnectionView& view) {
  if (view.backend_pid_changed) {
    return {true, "the backend pid changed between two transactions (transaction pooling)"};
  }
  if (view.over_unix_socket && !view.server_port.empty()) {
    return {true, "connected over a Unix socket but the server sees a TCP connection on port " +
                      view.server_port};
  }
  if (view.local && view.server_sees) {
    const Endpoint local{unmapped_address(view.local->addr), view.local->port};
    const Endpoint seen{unmapped_address(view.server_sees->addr), view.server_sees->port};
    if (local.addr == seen.addr && local.port == seen.port) return {};
    return {true, "the server sees this connection come from " + text(seen) +
                      ", but its socket here is " + text(local) +
                      " (something relays it: a pooler, a proxy or NAT)"};
  }
  if (!view.over_unix_socket && !view.server_port.empty() && view.server_port != view.dsn_port) {
    return {true, "the DSN names port " + view.dsn_port + " but the server listens on port " +
                      view.server_port};
  }
  return {};
}

}  // namespace lockwatch
