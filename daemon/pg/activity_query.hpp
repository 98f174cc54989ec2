#pragma once

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <unordered_map>

#include "core/activity.hpp"

namespace lockwatch {

// The statement every poll runs: pg_stat_get_activity() directly (the pg_stat_activity
// view would lock pg_database and pg_authid), pg_blocking_pids() only for lock waiters.
extern const char* const k_activity_sql;

// Database and role names by oid, read apart from the poll and only when an unknown oid
// shows up, so the poll itself touches no catalog.
class NameCache {
 public:
  struct Role {
    std::string name;
    bool superuser = false;
  };

  // Re-reads the names when `snapshot_oids` holds an oid we do not know (at most every 10s).
  void refresh_if_needed(pqxx::connection& connection, const pqxx::result& rows);
  std::string database(long long oid) const;
  Role role(long long oid) const;

 private:
  void refresh(pqxx::connection& connection);

  std::unordered_map<long long, std::string> m_databases;
  std::unordered_map<long long, Role> m_roles;
  std::chrono::steady_clock::time_point m_refreshed{};
};

struct ActivityOptions {
  int query_text_max = 1024;
  bool redact_queries = true;
};

// Runs the poll statement (prepared once per connection) and builds the snapshot.
class ActivityQuery {
 public:
  explicit ActivityQuery(pqxx::connection& connection);
  ActivitySnapshot run(const ActivityOptions& options);

 private:
  pqxx::connection& m_connection;
  NameCache m_names;
};

// Parses a PostgreSQL int[] literal such as "{1,2,0}" (sorted, duplicates removed).
std::vector<int> parse_pid_array(std::string_view text);

}  // namespace lockwatch
