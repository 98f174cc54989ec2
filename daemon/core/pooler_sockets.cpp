#include "core/pooler_sockets.hpp"

#include <algorithm>
#include <charconv>

namespace lockwatch {
namespace {

// Where each named column is in a result, or -1.
class Columns {
 public:
  explicit Columns(const ConsoleTable& table) : m_names(table.columns) {}

  int find(std::string_view name) const {
    const auto it = std::find(m_names.begin(), m_names.end(), name);
    return it == m_names.end() ? -1 : static_cast<int>(it - m_names.begin());
  }

 private:
  const std::vector<std::string>& m_names;
};

std::string text(const std::vector<std::optional<std::string>>& row, int column) {
  if (column < 0 || static_cast<std::size_t>(column) >= row.size()) return "";
  return row[static_cast<std::size_t>(column)].value_or("");
}

int number(const std::vector<std::optional<std::string>>& row, int column) {
  const std::string value = text(row, column);
  int out = 0;
  std::from_chars(value.data(), value.data() + value.size(), out);
  return out;
}

}  // namespace

Expected<std::vector<PoolerSocket>> read_pooler_sockets(const ConsoleTable& table,
                                                        std::string_view command) {
  const Columns columns(table);
  // What the join needs; the rest is shown when the version has it.
  for (std::string_view required : {"user", "database", "state", "addr", "port", "ptr", "link"}) {
    if (columns.find(required) < 0) {
      return Error{std::string(command) + " has no column \"" + std::string(required) +
                   "\" (pgbouncer 1.18 or newer is needed)"};
    }
  }
  const int user = columns.find("user");
  const int database = columns.find("database");
  const int state = columns.find("state");
  const int addr = columns.find("addr");
  const int port = columns.find("port");
  const int local_addr = columns.find("local_addr");
  const int local_port = columns.find("local_port");
  const int connect_time = columns.find("connect_time");
  const int ptr = columns.find("ptr");
  const int link = columns.find("link");
  const int remote_pid = columns.find("remote_pid");
  const int application_name = columns.find("application_name");
  const int id = columns.find("id");
  std::vector<PoolerSocket> sockets;
  sockets.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    PoolerSocket s;
    s.user = text(row, user);
    s.database = text(row, database);
    s.state = text(row, state);
    s.addr = text(row, addr);
    s.port = number(row, port);
    s.local_addr = text(row, local_addr);
    s.local_port = number(row, local_port);
    s.connect_time = text(row, connect_time);
    s.ptr = text(row, ptr);
    s.link = text(row, link);
    s.remote_pid = number(row, remote_pid);
    s.application_name = text(row, application_name);
    s.id = text(row, id);
    sockets.push_back(std::move(s));
  }
  return sockets;
}

}  // namespace lockwatch
