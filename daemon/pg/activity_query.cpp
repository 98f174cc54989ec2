#include "pg/activity_query.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/lock_description.hpp"
#include "core/pg_array.hpp"
#include "core/query_normaliser.hpp"
#include "pg/catalog_names.hpp"

namespace lockwatch {
namespace {

constexpr const char* k_statement = "pg_lockwatch_poll";
constexpr const char* k_activity_statement = "pg_lockwatch_activity";

// The main poll: one statement per poll, in autocommit; it names no relation, so it takes
// no relation lock (pg_stat_activity and pg_locks are views that would join pg_database and
// pg_authid). What it returns, by the first column:
//   a  a backend that matters: every one with $2 (the CLI), else those holding or awaiting
//      a lock on a contended object, their parallel leaders, the policy candidates ($3
//      states at least $4 seconds in them) and those asked for by pid ($5); never the
//      watchdog's own sessions (its own backend, and $6);
//   q  a contended object (one some backend waits for) with all its non-fastpath entries
//      aggregated, in pg_lock_status() order: sessions (a pid; for a prepared transaction,
//      which has none, a negative code of its virtual transaction), modes, granted,
//      waitstarts;
//   p  a prepared transaction holding a lock on a contended object, with that code: a
//      prepared transaction keeps the virtual xid of the backend that prepared it, and
//      only its own transactionid lock ties that to pg_prepared_xact();
//   s  client backends counted by state, with the oldest transaction and state change;
//   n  the server's now(), and how many backends pg_stat_activity showed waiting for a lock.
// pg_lock_status() runs once, and only when pg_stat_activity shows a lock wait (a one-time
// filter on the aggregate `g`). Fast-path locks are left out: they are weak
// relation locks that PostgreSQL moves to the main table before anyone can wait behind
// them, and GetBlockerStatusData() ignores them too. SIReadLock never blocks. Every open
// transaction holds its own transactionid lock: only those some backend waits for (w)
// are grouped, which in a hot-row pile-up of 1,000 cut the poll's server time by a fifth
// (docs/BENCHMARKS.md). `SELECT s.*`
// keeps the function's tuples as they are (a projection there costs a fifth of the quiet
// poll). Timestamps travel as microseconds since the epoch via date_part() (double
// precision is exact to the microsecond until 2255; extract() is numeric since 14, and
// slower). Columns by kind:
//   #  a                q            p            s                 n
//   1  pid              database     transaction  count             now
//   2  leader_pid       relation     dbid         min(xact_start)   lock waiters
//   3  datid            page         ownerid      min(state_change)
//   4  usesysid         tuple        prepared
//   5  backend_start    transactionid session code
//   6  xact_start       classid
//   7  query_start      objid
//   8  state_change     objsubid
//   9  application_name locktype     gid          state
//  10  client_addr      virtualxid
//  11  backend_type     sessions[]
//  12  state            modes[]
//  13  wait_event_type  granted[]
//  14  wait_event       waitstarts[]
//  15  query
// The activity rows of both statements. `g` reads pg_stat_get_activity() once and
// aggregates it without materialising it: per state, the client backends and their oldest
// transaction and state change, the lock waiters, and how many backends the caller wants as
// rows (@WANTED@). Only when some backend waits on a lock or is wanted does `a` read the
// function again (the same per-transaction copy of the status array, so the same data) and
// materialise it: `SELECT s.*` keeps the function's tuples as they are (a projection here
// costs a fifth of the poll). So the quiet poll costs one pass over the activity (1.07x
// `SELECT count(*) FROM pg_stat_activity`, was 1.5x), a contended one or one with policy
// candidates a second (docs/BENCHMARKS.md has both figures).
const char* const k_activity_cte = R"SQL(
WITH g AS MATERIALIZED (
  SELECT s.state,
         count(*) FILTER (WHERE s.backend_type = 'client backend') AS clients,
         min(s.xact_start) FILTER (WHERE s.backend_type = 'client backend') AS xact_start,
         min(s.state_change) FILTER (WHERE s.backend_type = 'client backend') AS state_change,
         count(*) FILTER (WHERE s.wait_event_type = 'Lock') AS lock_waiters,
         count(*) FILTER (WHERE @WANTED@) AS wanted
    FROM pg_catalog.pg_stat_get_activity(NULL) AS s
   WHERE s.pid <> pg_catalog.pg_backend_pid() AND s.pid <> ALL ($6)
   GROUP BY s.state
),
a AS MATERIALIZED (
  SELECT s.* FROM pg_catalog.pg_stat_get_activity(NULL) AS s
   WHERE s.pid <> pg_catalog.pg_backend_pid() AND s.pid <> ALL ($6)
     AND EXISTS (SELECT FROM g WHERE g.lock_waiters > 0 OR g.wanted > 0)
))SQL";

// The backends the caller asks for whatever their locks: every one with $2 (the CLI), the
// policy candidates ($3 states at least $4 seconds in them) and those asked for by pid ($5).
const char* const k_wanted = R"SQL($2
      OR (s.state = ANY ($3) AND s.state_change <= now() - $4 * interval '1 second')
      OR s.pid = ANY ($5))SQL";

const char* const k_lock_ctes = R"SQL(,
l AS MATERIALIZED (
  SELECT l.* FROM pg_catalog.pg_lock_status() AS l
   WHERE EXISTS (SELECT FROM g WHERE g.lock_waiters > 0)
     AND NOT l.fastpath AND l.mode <> 'SIReadLock'
),
w AS MATERIALIZED (
  SELECT DISTINCT l.transactionid FROM l WHERE NOT l.granted AND l.locktype = 'transactionid'
),
q AS MATERIALIZED (
  SELECT l.locktype, l.database, l.relation, l.page, l.tuple, l.virtualxid, l.transactionid,
         l.classid, l.objid, l.objsubid,
         pg_catalog.array_agg(coalesce(l.pid::int8, @PREPARED@)) AS sessions,
         pg_catalog.array_agg(l.mode) AS modes,
         pg_catalog.array_agg(l.granted) AS granted,
         pg_catalog.array_agg(@WAITSTART@) AS waitstarts
    FROM l
   WHERE l.locktype <> 'transactionid' OR l.transactionid IN (SELECT w.transactionid FROM w)
   GROUP BY l.locktype, l.database, l.relation, l.page, l.tuple, l.virtualxid, l.transactionid,
            l.classid, l.objid, l.objsubid
  HAVING pg_catalog.bool_or(NOT l.granted)
),
involved AS (
  SELECT u.pid FROM q, pg_catalog.unnest(q.sessions) AS u(pid) WHERE u.pid > 0
))SQL";

const char* const k_backend_rows = R"SQL(
SELECT 'a', s.pid::int8, s.leader_pid::int8, s.datid::int8, s.usesysid::int8,
       (date_part('epoch', s.backend_start) * 1000000)::int8,
       (date_part('epoch', s.xact_start) * 1000000)::int8,
       (date_part('epoch', s.query_start) * 1000000)::int8,
       (date_part('epoch', s.state_change) * 1000000)::int8,
       s.application_name, host(s.client_addr), s.backend_type, s.state, s.wait_event_type,
       s.wait_event, left(s.query, $1)
  FROM a AS s
 WHERE @WANTED@)SQL";

// The main poll's backends: those in contended objects and their parallel leaders.
const char* const k_involved_backends = R"SQL(
    OR s.pid IN (SELECT involved.pid FROM involved)
    OR s.pid IN (SELECT b.leader_pid FROM involved JOIN a AS b ON b.pid = involved.pid
                  WHERE b.leader_pid <> b.pid))SQL";

// The standby's: what pg_stat_activity shows waiting, and their parallel leaders.
const char* const k_waiting_backends = R"SQL(
    OR s.wait_event_type = 'Lock'
    OR s.pid IN (SELECT b.leader_pid FROM a AS b
                  WHERE b.leader_pid <> b.pid AND b.wait_event_type = 'Lock'))SQL";

const char* const k_lock_rows = R"SQL(
UNION ALL
SELECT 'q', q.database::int8, q.relation::int8, q.page::int8, q.tuple::int8,
       q.transactionid::text::int8, q.classid::int8, q.objid::int8, q.objsubid::int8,
       q.locktype, q.virtualxid, q.sessions::text, q.modes::text, q.granted::text,
       q.waitstarts::text, NULL
  FROM q
UNION ALL
SELECT 'p', p.transaction::text::int8, p.dbid::int8, p.ownerid::int8,
       (date_part('epoch', p.prepared) * 1000000)::int8, @PREPARED@, NULL, NULL, NULL,
       p.gid, NULL, NULL, NULL, NULL, NULL, NULL
  FROM pg_catalog.pg_prepared_xact() AS p
  JOIN l ON l.pid IS NULL AND l.granted AND l.locktype = 'transactionid'
        AND l.mode = 'ExclusiveLock' AND l.transactionid = p.transaction
 WHERE EXISTS (SELECT FROM q WHERE 0 > ANY (q.sessions)))SQL";

const char* const k_summary_rows = R"SQL(
UNION ALL
SELECT 's', g.clients, (date_part('epoch', g.xact_start) * 1000000)::int8,
       (date_part('epoch', g.state_change) * 1000000)::int8, NULL, NULL, NULL, NULL, NULL,
       g.state, NULL, NULL, NULL, NULL, NULL, NULL
  FROM g WHERE g.clients > 0
UNION ALL
SELECT 'n', (date_part('epoch', now()) * 1000000)::int8,
       (SELECT coalesce(sum(g.lock_waiters), 0)::int8 FROM g), NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
)SQL";

const char* const k_server_info_sql = R"SQL(
SELECT current_setting('server_version_num')::int, current_setting('server_version'),
       current_user, current_setting('is_superuser') = 'on',
       pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'),
       pg_catalog.pg_has_role('pg_signal_backend', 'USAGE'),
       (SELECT s.datid::int8 FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) AS s)
)SQL";

// A prepared transaction's virtual transaction "B/L" as one negative number, unique in
// the snapshot: -((B + 2) * 2^32 + L) (B is -1 for one restored at start-up).
const char* const k_prepared_code =
    "-(pg_catalog.split_part(l.virtualtransaction, '/', 1)::int8 + 2) * 4294967296 - "
    "pg_catalog.split_part(l.virtualtransaction, '/', 2)::int8";

void substitute(std::string& sql, const std::string& name, const std::string& text) {
  for (auto at = sql.find(name); at != std::string::npos; at = sql.find(name, at + text.size())) {
    sql.replace(at, name.size(), text);
  }
}

std::optional<std::int64_t> number(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::int64_t>();
}

std::string text(const pqxx::field& f) {
  return f.is_null() ? std::string() : f.as<std::string>();
}

std::string int_array(const std::vector<int>& items) {
  std::string out = "{";
  for (int item : items) out += (out.size() > 1 ? "," : "") + std::to_string(item);
  return out + "}";
}

// The rows of one poll before names are attached: oids are still oids.
struct RawBackend {
  Backend backend;
  NameCache::Oid datid = 0;
  NameCache::Oid usesysid = 0;
};

struct RawPrepared {
  std::int64_t code = 0;  // its session code in q.sessions
  std::int64_t transaction = 0;
  NameCache::Oid dbid = 0;
  NameCache::Oid ownerid = 0;
  std::optional<Micros> prepared_at;
  std::string gid;
};

struct RawPoll {
  std::vector<RawBackend> backends;
  LockSnapshot locks;
  std::vector<RawPrepared> prepared;
  ActivitySummary summary;
  Micros now = 0;
};

RawBackend to_backend(const pqxx::row& r, const ActivityOptions& options) {
  RawBackend raw;
  Backend& b = raw.backend;
  b.pid = static_cast<int>(r[1].as<std::int64_t>());
  b.leader_pid = static_cast<int>(number(r[2]).value_or(0));
  raw.datid = static_cast<NameCache::Oid>(number(r[3]).value_or(0));
  raw.usesysid = static_cast<NameCache::Oid>(number(r[4]).value_or(0));
  b.backend_start = number(r[5]);
  b.xact_start = number(r[6]);
  b.query_start = number(r[7]);
  b.state_change = number(r[8]);
  b.application_name = text(r[9]);
  b.client_addr = text(r[10]);
  b.backend_type = text(r[11]);
  b.state = text(r[12]);
  b.wait_event_type = text(r[13]);
  b.wait_event = text(r[14]);
  const std::string query = text(r[15]);
  b.query = options.redact_queries ? normalise_query(query) : query;
  return raw;
}

LockTarget to_target(const pqxx::row& r) {
  LockTarget t;
  t.type_name = text(r[9]);
  t.type = parse_lock_type(t.type_name);
  t.database = static_cast<std::uint32_t>(number(r[1]).value_or(0));
  t.relation = static_cast<std::uint32_t>(number(r[2]).value_or(0));
  t.page = number(r[3]).value_or(-1);
  t.tuple = static_cast<int>(number(r[4]).value_or(-1));
  t.transactionid = number(r[5]).value_or(-1);
  t.classid = static_cast<std::uint32_t>(number(r[6]).value_or(0));
  t.objid = static_cast<std::uint32_t>(number(r[7]).value_or(0));
  t.objsubid = static_cast<int>(number(r[8]).value_or(-1));
  t.virtualxid = text(r[10]);
  return t;
}

// Prepared transactions come as negative codes; they become sessions -1, -2, ...
class PreparedIds {
 public:
  int session(std::int64_t code) {
    const auto [it, inserted] = m_ids.try_emplace(code, -static_cast<int>(m_ids.size()) - 1);
    return it->second;
  }
  const std::map<std::int64_t, int>& all() const { return m_ids; }

 private:
  std::map<std::int64_t, int> m_ids;
};

LockQueue to_queue(const pqxx::row& r, PreparedIds& prepared) {
  LockQueue q;
  q.target = to_target(r);
  const auto sessions = parse_int_array(text(r[11]));
  const auto modes = parse_text_array(text(r[12]));
  const auto granted = parse_bool_array(text(r[13]));
  const auto waitstarts = parse_int_array(text(r[14]));
  for (std::size_t i = 0; i < sessions.size() && i < modes.size() && i < granted.size(); ++i) {
    const auto mode = modes[i] ? from_pg_locks_name(*modes[i]) : std::nullopt;
    if (!sessions[i] || !mode) continue;
    const std::int64_t id = *sessions[i];
    LockEntry e;
    e.session = id > 0 ? static_cast<int>(id) : prepared.session(id);
    e.mode = *mode;
    e.granted = granted[i];
    if (i < waitstarts.size()) e.waitstart = waitstarts[i];
    q.entries.push_back(e);
  }
  return q;
}

RawPoll read_rows(const pqxx::result& rows, const ActivityOptions& options) {
  RawPoll poll;
  PreparedIds prepared_ids;
  for (const pqxx::row& r : rows) {
    const std::string kind = r[0].as<std::string>();
    if (kind == "a") {
      poll.backends.push_back(to_backend(r, options));
    } else if (kind == "q") {
      poll.locks.queues.push_back(to_queue(r, prepared_ids));
    } else if (kind == "p") {
      RawPrepared p;
      p.code = number(r[5]).value_or(0);
      p.transaction = r[1].as<std::int64_t>();
      p.dbid = static_cast<NameCache::Oid>(number(r[2]).value_or(0));
      p.ownerid = static_cast<NameCache::Oid>(number(r[3]).value_or(0));
      p.prepared_at = number(r[4]);
      p.gid = text(r[9]);
      poll.prepared.push_back(std::move(p));
    } else if (kind == "s") {
      poll.summary.client_states[text(r[9])] = static_cast<int>(r[1].as<std::int64_t>());
      const auto earliest = [](std::optional<Micros>& slot, std::optional<Micros> t) {
        if (t && (!slot || *t < *slot)) slot = t;
      };
      earliest(poll.summary.oldest_xact_start, number(r[2]));
      if (text(r[9]).starts_with("idle in transaction")) {
        earliest(poll.summary.oldest_idle_in_transaction, number(r[3]));
      }
    } else if (kind == "n") {
      poll.now = r[1].as<std::int64_t>();
      poll.locks.taken = r[2].as<std::int64_t>() > 0;  // the gate of pg_lock_status()
    }
  }
  for (const auto& [code, session] : prepared_ids.all()) {
    PreparedXact p;
    p.session = session;
    p.gid = "?";  // until its p row says (it always does, both come from one lock read)
    const auto it = std::find_if(poll.prepared.begin(), poll.prepared.end(),
                                 [code = code](const RawPrepared& r) { return r.code == code; });
    if (it != poll.prepared.end()) p.transaction = it->transaction;
    poll.locks.prepared.push_back(p);
  }
  return poll;
}

// Before PostgreSQL 14 there is no waitstart: the waiting statement's start is the
// closest stand-in, for the queue order as for the wait time.
void approximate_waitstarts(RawPoll& poll) {
  std::map<int, std::optional<Micros>> starts;
  for (const RawBackend& b : poll.backends) starts[b.backend.pid] = b.backend.query_start;
  for (LockQueue& q : poll.locks.queues) {
    for (LockEntry& e : q.entries) {
      if (!e.granted && !e.waitstart) e.waitstart = starts[e.session];
    }
  }
}

// The oids this poll needs names for.
struct Oids {
  std::vector<NameCache::Oid> databases;
  std::vector<NameCache::Oid> roles;
  std::vector<NameCache::Oid> relations;
};

Oids oids_of(const RawPoll& poll, std::uint32_t own_database) {
  Oids oids;
  for (const RawBackend& b : poll.backends) {
    oids.databases.push_back(b.datid);
    oids.roles.push_back(b.usesysid);
  }
  for (const RawPrepared& p : poll.prepared) {
    oids.databases.push_back(p.dbid);
    oids.roles.push_back(p.ownerid);
  }
  for (const LockQueue& q : poll.locks.queues) {
    oids.databases.push_back(q.target.database);
    if (q.target.relation != 0 && (q.target.database == 0 || q.target.database == own_database)) {
      oids.relations.push_back(q.target.relation);
    }
  }
  return oids;
}

void attach_names(RawPoll& poll, const NameCache& names, std::uint32_t own_database,
                  const std::vector<NameCache::Oid>& relations) {
  for (RawBackend& raw : poll.backends) {
    raw.backend.datname = names.database(raw.datid);
    const NameCache::Role role = names.role(raw.usesysid);
    raw.backend.usename = role.name;
    raw.backend.superuser = role.superuser;
  }
  for (PreparedXact& p : poll.locks.prepared) {
    const auto it =
        std::find_if(poll.prepared.begin(), poll.prepared.end(),
                     [&p](const RawPrepared& r) { return r.transaction == p.transaction; });
    if (it == poll.prepared.end()) continue;
    p.gid = it->gid;
    p.prepared_at = it->prepared_at;
    p.owner = names.role(it->ownerid).name;
    p.database = names.database(it->dbid);
  }
  LockSnapshot& locks = poll.locks;
  locks.names_database = own_database;
  for (NameCache::Oid oid : relations) {
    if (auto name = names.relation(oid)) locks.relation_names.emplace(oid, std::move(*name));
  }
  for (const LockQueue& q : locks.queues) {
    for (NameCache::Oid oid : {q.target.database, q.target.objid}) {
      if (oid != 0) locks.database_names.emplace(oid, names.database(oid));
    }
  }
}

// Reads the names this poll lacks into the cache; a failure is kept in `error`.
void read_names(pqxx::connection& connection, NameCache& names, const Oids& oids,
                std::string& error) {
  const auto now = NameCache::Clock::now();
  const NameCache::Wanted wanted = names.wanted(oids.databases, oids.roles, oids.relations, now);
  // A catalog that someone holds locked must not cost the poll: names stay as they were.
  if (wanted.roles_and_databases) {
    try {
      read_roles_and_databases(connection, names, now);
    } catch (const std::exception& e) {
      names.roles_and_databases_failed(now);
      error = std::string("reading role and database names: ") + e.what();
    }
  }
  if (!wanted.relations.empty()) {
    try {
      read_relation_names(connection, names, wanted.relations, now);
    } catch (const std::exception& e) {
      names.relations_failed(now);
      error = std::string("reading relation names: ") + e.what();
    }
  }
}

PollSnapshots snapshots_of(RawPoll poll, const ActivityOptions& options) {
  ActivitySnapshot activity;
  activity.taken_at = poll.now;
  activity.complete = options.complete;
  activity.summary = std::move(poll.summary);
  activity.backends.reserve(poll.backends.size());
  for (RawBackend& raw : poll.backends) activity.backends.push_back(std::move(raw.backend));
  poll.locks.taken_at = poll.now;
  return PollSnapshots{std::move(activity), std::move(poll.locks)};
}

}  // namespace

std::string poll_sql(int server_version_num) {
  std::string sql = std::string(k_activity_cte) + k_lock_ctes + k_backend_rows +
                    k_involved_backends + k_lock_rows + k_summary_rows;
  substitute(sql, "@WAITSTART@",
             server_version_num >= k_waitstart_server_version
                 ? "(date_part('epoch', l.waitstart) * 1000000)::int8"
                 : "NULL::int8");
  substitute(sql, "@PREPARED@", k_prepared_code);
  substitute(sql, "@WANTED@", k_wanted);
  return sql;
}

std::string activity_sql() {
  std::string sql =
      std::string(k_activity_cte) + k_backend_rows + k_waiting_backends + k_summary_rows;
  substitute(sql, "@WANTED@", k_wanted);
  return sql;
}

ServerInfo read_server_info(pqxx::connection& connection) {
  pqxx::nontransaction tx(connection);
  const pqxx::row r = tx.exec1(k_server_info_sql);
  ServerInfo info;
  info.facts.version_num = r[0].as<int>();
  info.version = r[1].as<std::string>();
  info.facts.role = r[2].as<std::string>();
  info.facts.superuser = r[3].as<bool>();
  info.facts.read_all_stats = r[4].as<bool>();
  info.facts.signal_backend = r[5].as<bool>();
  info.database = r[6].is_null() ? 0 : r[6].as<std::uint32_t>();
  return info;
}

ActivityQuery::ActivityQuery(pqxx::connection& connection, const ServerInfo& server,
                             NameCache* names)
    : m_connection(connection),
      m_server(server),
      m_own_names(names ? nullptr : std::make_unique<NameCache>()),
      m_names(names ? names : m_own_names.get()) {
  m_connection.prepare(k_statement, poll_sql(server.facts.version_num));
}

pqxx::result ActivityQuery::execute(const char* statement, const ActivityOptions& options) {
  pqxx::nontransaction tx(m_connection);
  return tx.exec_prepared(statement, options.query_text_max, options.complete,
                          text_array_literal(options.candidate_states),
                          std::chrono::duration<double>(options.candidate_min_age).count(),
                          int_array(options.include_pids), int_array(options.exclude_pids));
}

PollSnapshots ActivityQuery::run(const ActivityOptions& options) {
  RawPoll poll = read_rows(execute(k_statement, options), options);
  if (m_server.facts.version_num < k_waitstart_server_version) approximate_waitstarts(poll);
  const Oids oids = oids_of(poll, m_server.database);
  read_names(m_connection, *m_names, oids, m_name_error);
  attach_names(poll, *m_names, m_server.database, oids.relations);
  return snapshots_of(std::move(poll), options);
}

PollSnapshots ActivityQuery::run_activity_only(const ActivityOptions& options,
                                               const NameCache& names) {
  if (!m_activity_prepared) {
    m_connection.prepare(k_activity_statement, activity_sql());
    m_activity_prepared = true;
  }
  RawPoll poll = read_rows(execute(k_activity_statement, options), options);
  poll.locks.taken = false;  // the gate counted waiters; this statement reads no locks
  attach_names(poll, names, m_server.database, {});
  return snapshots_of(std::move(poll), options);
}

std::string ActivityQuery::take_name_error() {
  std::string error = std::move(m_name_error);
  m_name_error.clear();
  while (!error.empty() && error.back() == '\n') error.pop_back();
  return error;
}

}  // namespace lockwatch
