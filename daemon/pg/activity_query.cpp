#include "pg/activity_query.hpp"

#include <algorithm>
#include <charconv>

#include "core/query_normaliser.hpp"

namespace lockwatch {

// Timestamps travel as microseconds since the epoch. date_part() (double precision) rather
// than extract() (numeric since PostgreSQL 14): the numeric arithmetic made the whole poll
// 1.6 times as costly as SELECT count(*) FROM pg_stat_activity with 1,000 backends, and a
// double holds every microsecond exactly until the year 2255. termination.cpp compares
// with the same expression.
const char* const k_activity_sql = R"SQL(
SELECT s.pid, coalesce(s.leader_pid, 0), coalesce(s.datid, 0)::int8,
       coalesce(s.usesysid, 0)::int8, coalesce(s.application_name, ''),
       coalesce(host(s.client_addr), ''), coalesce(s.backend_type, ''),
       coalesce(s.state, ''), coalesce(s.wait_event_type, ''), coalesce(s.wait_event, ''),
       (date_part('epoch', s.backend_start) * 1000000)::int8,
       (date_part('epoch', s.xact_start) * 1000000)::int8,
       (date_part('epoch', s.query_start) * 1000000)::int8,
       (date_part('epoch', s.state_change) * 1000000)::int8,
       left(s.query, $1),
       CASE WHEN s.wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(s.pid) END,
       (date_part('epoch', now()) * 1000000)::int8
  FROM pg_catalog.pg_stat_get_activity(NULL) AS s
 WHERE s.pid <> pg_catalog.pg_backend_pid()
)SQL";

namespace {

constexpr const char* k_statement = "pg_lockwatch_activity";
constexpr auto k_name_refresh_interval = std::chrono::seconds(10);

enum Column {
  pid,
  leader_pid,
  datid,
  usesysid,
  application_name,
  client_addr,
  backend_type,
  state,
  wait_event_type,
  wait_event,
  backend_start,
  xact_start,
  query_start,
  state_change,
  query,
  blockers,
  now
};

std::optional<Micros> micros(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<Micros>();
}

Backend to_backend(const pqxx::row& row, const NameCache& names, const ActivityOptions& options) {
  Backend b;
  b.pid = row[pid].as<int>();
  b.leader_pid = row[leader_pid].as<int>();
  b.datname = names.database(row[datid].as<long long>());
  const NameCache::Role role = names.role(row[usesysid].as<long long>());
  b.usename = role.name;
  b.superuser = role.superuser;
  b.application_name = row[application_name].as<std::string>();
  b.client_addr = row[client_addr].as<std::string>();
  b.backend_type = row[backend_type].as<std::string>();
  b.state = row[state].as<std::string>();
  b.wait_event_type = row[wait_event_type].as<std::string>();
  b.wait_event = row[wait_event].as<std::string>();
  b.backend_start = micros(row[backend_start]);
  b.xact_start = micros(row[xact_start]);
  b.query_start = micros(row[query_start]);
  b.state_change = micros(row[state_change]);
  const std::string text = row[query].is_null() ? "" : row[query].as<std::string>();
  b.query = options.redact_queries ? normalise_query(text) : text;
  if (!row[blockers].is_null()) b.blocked_by = parse_pid_array(row[blockers].c_str());
  return b;
}

}  // namespace

std::vector<int> parse_pid_array(std::string_view text) {
  std::vector<int> pids;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    int value = 0;
    const auto [next, error] = std::from_chars(p, end, value);
    if (error == std::errc()) {
      pids.push_back(value);
      p = next;
    } else {
      ++p;  // braces and commas
    }
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

void NameCache::refresh_if_needed(pqxx::connection& connection, const pqxx::result& rows) {
  const bool all_known = std::all_of(rows.begin(), rows.end(), [this](const pqxx::row& row) {
    const long long db = row[datid].as<long long>();
    const long long user = row[usesysid].as<long long>();
    return (db == 0 || m_databases.count(db)) && (user == 0 || m_roles.count(user));
  });
  const auto now = std::chrono::steady_clock::now();
  if (all_known || now - m_refreshed < k_name_refresh_interval) return;
  m_refreshed = now;
  refresh(connection);
}

void NameCache::refresh(pqxx::connection& connection) {
  pqxx::nontransaction tx(connection);
  for (const pqxx::row& row : tx.exec("SELECT oid::int8, datname FROM pg_catalog.pg_database")) {
    m_databases[row[0].as<long long>()] = row[1].as<std::string>();
  }
  for (const pqxx::row& row :
       tx.exec("SELECT oid::int8, rolname, rolsuper FROM pg_catalog.pg_roles")) {
    m_roles[row[0].as<long long>()] = Role{row[1].as<std::string>(), row[2].as<bool>()};
  }
}

std::string NameCache::database(long long oid) const {
  if (oid == 0) return "";
  const auto it = m_databases.find(oid);
  return it == m_databases.end() ? "oid:" + std::to_string(oid) : it->second;
}

NameCache::Role NameCache::role(long long oid) const {
  if (oid == 0) return {};
  const auto it = m_roles.find(oid);
  // An unknown role might be a superuser: say so, so no policy ever signals it unchecked.
  return it == m_roles.end() ? Role{"oid:" + std::to_string(oid), true} : it->second;
}

ActivityQuery::ActivityQuery(pqxx::connection& connection) : m_connection(connection) {
  m_connection.prepare(k_statement, k_activity_sql);
}

ActivitySnapshot ActivityQuery::run(const ActivityOptions& options) {
  pqxx::result rows;
  {
    pqxx::nontransaction tx(m_connection);
    rows = tx.exec_prepared(k_statement, options.query_text_max);
  }
  m_names.refresh_if_needed(m_connection, rows);
  ActivitySnapshot snapshot;
  snapshot.backends.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    snapshot.taken_at = row[now].as<Micros>();
    snapshot.backends.push_back(to_backend(row, m_names, options));
  }
  return snapshot;
}

}  // namespace lockwatch
