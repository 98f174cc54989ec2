#pragma once

#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/name_cache.hpp"
#include "core/observation.hpp"
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
  PoolerCheck pooler;
  int backend_pid = 0;   // the watchdog's own backend
  ActionReport actions;  // what the policies did this poll
};

// The blocking side of polling: owns the session and runs on the worker thread only,
// except begin() and abort(), which the loop calls around each poll.
class PollWorker {
 public:
  // Connects when needed, runs the poll statement, analyses it and applies the policies.
  // Never throws.
  PollResult poll(const Config& config, const std::string& dsn);

  // Loop thread, before handing over a poll: forgets the previous poll's abort().
  void begin() noexcept { m_abort->reset(); }

  // Any thread: makes the poll fail now if it is blocked on a frozen server or a dead
  // network, in the session's set-up as much as in its statements.
  void abort() noexcept { m_abort->trip(); }

 private:
  void connect(const Config& config, const std::string& dsn, PollResult& result);
  void drop_session();

  std::shared_ptr<AbortSwitch> m_abort = std::make_shared<AbortSwitch>();
  std::unique_ptr<Session> m_session;
  std::unique_ptr<ActivityQuery> m_query;
  NameCache m_names;  // outlives sessions: a reconnect during a catalog lock keeps the names
  std::string m_dsn;
  WatchConfig m_session_watch;
  PolicyActions m_actions;
};

}  // namespace lockwatch
