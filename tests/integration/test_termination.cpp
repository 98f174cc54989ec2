// Safe signalling against a real server: the identity re-check in the same statement as
// the signal. Needs the test cluster (LOCKWATCH_TEST_CLUSTER_DIR, set by CTest).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "pg/termination.hpp"

namespace lockwatch {
namespace {

std::string cluster_dsn(const std::string& user = "postgres") {
  const char* dir = std::getenv("LOCKWATCH_TEST_CLUSTER_DIR");
  REQUIRE_MESSAGE(dir, "run through ctest: LOCKWATCH_TEST_CLUSTER_DIR names the test cluster");
  std::ifstream port_file(std::string(dir) + "/port");
  std::string port;
  port_file >> port;
  return "host=127.0.0.1 port=" + port + " user=" + user + " dbname=postgres";
}

// A client session left idle in transaction, as the poll would have seen it.
struct Victim {
  pqxx::connection connection{cluster_dsn()};
  pqxx::work transaction{connection};
  Victim() { transaction.exec("SELECT 1"); }
};

SessionIdentity identity_of(pqxx::connection& observer, int pid) {
  pqxx::nontransaction tx(observer);
  const pqxx::row row = tx.exec_params1(
      "SELECT (extract(epoch FROM backend_start) * 1000000)::int8, state, "
      "(extract(epoch FROM state_change) * 1000000)::int8 FROM pg_stat_activity WHERE pid = $1",
      pid);
  return SessionIdentity{pid, row[0].as<Micros>(), row[1].as<std::string>(), row[2].as<Micros>()};
}

bool alive(pqxx::connection& observer, int pid) {
  pqxx::nontransaction tx(observer);
  return !tx.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid).empty();
}

// Waits (bounded) until a signalled backend is gone; termination is asynchronous.
bool gone_within(pqxx::connection& observer, int pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!alive(observer, pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_SUITE("termination") {
  TEST_CASE("the session the poll saw is terminated") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    const SessionIdentity seen = identity_of(observer, victim.connection.backendpid());
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, error) == Outcome::terminated);
    CHECK(gone_within(observer, seen.pid, std::chrono::seconds(5)));
  }

  TEST_CASE("a different backend_start (pid reused) signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    SessionIdentity seen = identity_of(observer, victim.connection.backendpid());
    seen.backend_start -= 1;  // the session the poll saw had the same pid but started earlier
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, error) == Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a session that moved on since the poll signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    const SessionIdentity seen = identity_of(observer, victim.connection.backendpid());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let state_change differ
    victim.transaction.exec("SELECT 2");                        // same state, new state_change
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, error) == Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a session that changed state signals nothing") {
    pqxx::connection observer(cluster_dsn());
    Victim victim;
    SessionIdentity seen = identity_of(observer, victim.connection.backendpid());
    seen.state = "active";
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, error) == Outcome::vanished);
    CHECK(alive(observer, seen.pid));
  }

  TEST_CASE("a vanished session is reported as such") {
    pqxx::connection observer(cluster_dsn());
    SessionIdentity seen;
    {
      Victim victim;
      seen = identity_of(observer, victim.connection.backendpid());
    }
    REQUIRE(gone_within(observer, seen.pid, std::chrono::seconds(5)));
    std::string error;
    CHECK(signal_backend(observer, PolicyAction::terminate, seen, error) == Outcome::vanished);
  }

  TEST_CASE("a refusal is 'denied', not an exception") {
    pqxx::connection setup(cluster_dsn());
    pqxx::nontransaction(setup).exec(
        "DO $$BEGIN CREATE ROLE lw_weak LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$;"
        "GRANT pg_monitor TO lw_weak");  // sees every session, but may not signal superusers
    pqxx::connection weak(cluster_dsn("lw_weak"));
    Victim victim;  // a superuser's session: lw_weak may not signal it
    const SessionIdentity seen = identity_of(setup, victim.connection.backendpid());
    std::string error;
    CHECK(signal_backend(weak, PolicyAction::terminate, seen, error) == Outcome::denied);
    CHECK(error.find("superuser") != std::string::npos);
    CHECK(alive(setup, seen.pid));
  }
}

}  // namespace
}  // namespace lockwatch
