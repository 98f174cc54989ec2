#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/config.hpp"
#include "core/name_cache.hpp"
#include "core/observation.hpp"
#include "core/pooler_sockets.hpp"
#include "core/server_requirements.hpp"
#include "pg/activity_query.hpp"
#include "pg/session.hpp"
#include "service/policy_actions.hpp"

namespace lockwatch {

// The outcome of one poll, handed from the worker thread to the loop.
struct PollResult {
  std::shared_ptr<const Observation> observation;  // null when the poll failed
  std::string error;                               // why it failed, DSN masked
  bool reconnected = false;                        // this poll opened a new session
  std::string server_version;
  std::vector<PrivilegeProblem> problems;  // at reconnect: what this role cannot see or do
  std::string name_error;                  // names could not be read this poll (still a success)
  bool timed_out = false;  // the statement hit statement_timeout; the session is still good
  PoolerCheck pooler;
  int backend_pid = 0;   // the watchdog's own backend
  ActionReport actions;  // what the policies did this poll
};

// The blocking side of polling. The main session polls on the worker thread. A standby
// session, connected in advance and idle otherwise, polls on the standby thread while the
// main poll's lock read waits for the lock manager: PostgreSQL's deadlock detector can
// hold all of it for seconds to minutes in a pile-up of thousands, and no new connection
// gets in meanwhile, but pg_stat_get_activity() and the identity-checked signal still
// answer. The loop calls begin() and abort() (and their standby twins) around each poll.
class PollWorker {
 public:
  // Connects when needed, runs the poll statement, analyses it and applies the policies.
  // Never throws. Worker thread.
  // `poolers`: the last readings of the poolers' consoles, joined to the snapshot's
  // backends (core/pooler_attribution.hpp) before the policies see it.
  PollResult poll(const Config& config, const std::string& dsn,
                  const std::vector<PoolerReading>& poolers);

  // Standby thread: connects the standby session when there is none, else checks that it
  // answers. Never throws; false when there is no working standby session.
  bool standby_check(const Config& config, const std::string& dsn);

  // Standby thread: pg_stat_get_activity() on the standby session, analysed with `last`,
  // the last lock snapshot (carried as stale), and the policies applied, their signals
  // sent on the standby session. Never throws.
  PollResult standby_poll(const Config& config, const std::string& dsn, const LockSnapshot& last,
                          const std::vector<PoolerReading>& poolers);

  int standby_pid() const noexcept { return m_standby_pid; }
  void begin_standby() noexcept { m_standby_abort->reset(); }
  void abort_standby() noexcept { m_standby_abort->trip(); }

  // Loop thread, before handing over a poll: forgets the previous poll's abort().
  void begin() noexcept { m_abort->reset(); }

  // Any thread: makes the poll fail now if it is blocked on a frozen server or a dead
  // network, in the session's set-up as much as in its statements.
  void abort() noexcept { m_abort->trip(); }

 private:
  void connect(const Config& config, const std::string& dsn, PollResult& result);
  void drop_session();

  // The poll's options: config, signals awaiting confirmation, the other session left out.
  ActivityOptions options_for(const Config& config, int other_session) const;
  ActionReport apply_policies(const Observation& observation, const Config& config,
                              pqxx::connection& connection);
  void connect_standby(const Config& config, const std::string& dsn);
  void drop_standby();
  void publish_names();
  std::shared_ptr<const NameCache> published_names() const;
  std::shared_ptr<const ServerInfo> server() const;

  std::shared_ptr<AbortSwitch> m_abort = std::make_shared<AbortSwitch>();
  std::unique_ptr<Session> m_session;
  std::unique_ptr<ActivityQuery> m_query;
  NameCache m_names;  // outlives sessions: a reconnect during a catalog lock keeps the names
  std::string m_dsn;
  WatchConfig m_session_watch;

  // The standby session (standby thread only).
  std::shared_ptr<AbortSwitch> m_standby_abort = std::make_shared<AbortSwitch>();
  std::unique_ptr<Session> m_standby;
  std::unique_ptr<ActivityQuery> m_standby_query;
  std::string m_standby_dsn;

  // Shared by both threads, each behind its mutex.
  mutable std::mutex m_actions_mutex;
  PolicyActions m_actions;
  mutable std::mutex m_shared_mutex;
  std::shared_ptr<const NameCache> m_names_copy;  // for the standby, which reads no names
  std::shared_ptr<const ServerInfo> m_server;     // from the main session's connect
  std::uint64_t m_published_version = 0;          // of m_names, as last copied
  std::atomic<int> m_main_pid{0};
  std::atomic<int> m_standby_pid{0};
};

}  // namespace lockwatch
