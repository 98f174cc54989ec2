#pragma once

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/name_cache.hpp"
#include "core/observation.hpp"
#include "core/server_requirements.hpp"

namespace lockwatch {

// The server and role, as the session found them at connect.
struct ServerInfo {
  ServerFacts facts;
  std::string version;         // server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
  std::uint32_t database = 0;  // the database the session is connected to
};

// Reads ServerInfo (one statement; names nothing that a lock could hold).
ServerInfo read_server_info(pqxx::connection& connection);

struct ActivityOptions {
  int query_text_max = 1024;
  bool redact_queries = true;
  // Every backend's row (the CLI's audit), not only those that matter to locks and policies.
  bool complete = false;
  // Backends in these states and at least this long in them are returned for the policies
  // that act without anyone blocked (only_if_blocking = false).
  std::vector<std::string> candidate_states;
  Duration candidate_min_age{0};
  // These backends' rows too, whatever they are doing (signals awaiting confirmation).
  std::vector<int> include_pids;
};

// The poll: one prepared statement that reads pg_stat_get_activity() and, only while some
// backend waits for a lock, pg_lock_status() once; then the names it needs from the cache
// (read apart from the statement: a failed read leaves "oid:N" and never fails the poll).
class ActivityQuery {
 public:
  // `names` outlives reconnects when the caller keeps it; null: a cache of its own.
  ActivityQuery(pqxx::connection& connection, const ServerInfo& server, NameCache* names = nullptr);

  // The two snapshots of one poll, names attached.
  PollSnapshots run(const ActivityOptions& options);

  // run(), analysed.
  Observation observe(const ActivityOptions& options) { return Observation(run(options)); }

  // Why the last name read failed, once per failure; "" when it did not.
  std::string take_name_error();

 private:
  pqxx::connection& m_connection;
  ServerInfo m_server;
  std::unique_ptr<NameCache> m_own_names;
  NameCache* m_names;
  std::string m_name_error;
};

// The poll statement for a server version (pg_locks.waitstart exists from 14 on).
std::string poll_sql(int server_version_num);

}  // namespace lockwatch
