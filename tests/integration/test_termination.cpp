// Safe signalling against a real server: the identity re-check in the same statement as
// the signal. Needs the test cluster (LOCKWATCH_TEST_CLUSTER_DIR, set by CTest).
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "core/policy_engine.hpp"
#include "pg/activity_query.hpp"
#include "pg/termination.hpp"
#include "test_cluster.hpp"

namespace lockwatch {
namespace {

using testing::alive;
using testing::cluster_dsn;
using testing::gone_within;

constexpr auto k_exit_wait = std::chrono::milliseconds(500);

// A client session left idle in transaction, as the poll would have seen it.
struct Victim {
  pqxx::connection connection{cluster_dsn()};
  pqxx::work transaction{connection};
  Victim() { transaction.exec("SELECT 1"); }
};

// The identity exactly as the daemon builds it: the poll statement, then identity_of(),
// so a poll and a signal that disagreed on a timestamp would fail here.
SessionIdentity identity_seen_by_poll(pqxx::connection& observer, int pid) {
  ActivityQuery query(observer, read_server_info(observer));
  ActivityOptions options;
  options.complete = true;
  const PollSnapshots snapshot = query.run(options);
  for (const Backend& b : snapshot.activity.backends) {
    if (b.pid == pid) return identity_of(b);
  }
  FAIL("the poll did not see pid ", pid);
  return {};
}

TEST_SUITE("termination") {
  TEST_CASE("the session the poll saw is terminated") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    const SessionIdentity seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::terminated);
    CHECK(gone_within(observer, seen.pid, std::chrono::seconds(5)));
  }

  TEST_CASE("terminated means gone: a backend that cannot exit in time is 'unknown'") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    const SessionIdentity seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    REQUIRE(::kill(seen.pid, SIGSTOP) == 0);  // it cannot act on SIGTERM until continued
    std::string error;
    const Outcome outcome =
        signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error);
    ::kill(seen.pid, SIGCONT);
    CHECK(outcome == Outcome::unknown);
    CHECK(error.find("had not exited") != std::string::npos);
    CHECK(error.find("did not terminate within 500 milliseconds") != std::string::npos);
    CHECK(gone_within(observer, seen.pid, std::chrono::seconds(5)));  // the signal was sent
  }

  TEST_CASE("a different backend_start (pid reused) signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    SessionIdentity seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    seen.backend_start -= 1;  // the session the poll saw had the same pid but started earlier
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a session that moved on since the poll signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    const SessionIdentity seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let state_change differ
    victim.transaction.exec("SELECT 2");                        // same state, new state_change
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a session that changed state signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    SessionIdentity seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    seen.state = "active";
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a vanished session is reported as such") {
    pqxx::connection observer(cluster_dsn());
    SessionIdentity seen;
    {
      Victim victim;
      seen = identity_seen_by_poll(observer, victim.connection.backendpid());
    }
    REQUIRE(gone_within(observer, seen.pid, std::chrono::seconds(5)));
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::vanished);
  }

  TEST_CASE("a refusal is 'denied', not an exception") {
    pqxx::connection setup(cluster_dsn());
    pqxx::nontransaction(setup).exec(
        "DO $$BEGIN CREATE ROLE lw_weak LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$;"
        "GRANT pg_monitor TO lw_weak");  // sees every session, but may not signal superusers
    pqxx::connection weak(cluster_dsn("lw_weak"));
    Victim victim;  // a superuser's session: lw_weak may not signal it
    const SessionIdentity seen = identity_seen_by_poll(setup, victim.connection.backendpid());
    std::string error;
    CHECK(signal_backend(weak, PolicyAction::terminate, seen, k_exit_wait, error) ==
          Outcome::denied);
    CHECK(error.find("superuser") != std::string::npos);
    CHECK(alive(setup, seen.pid));
  }
}

}  // namespace
}  // namespace lockwatch
