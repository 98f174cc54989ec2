#pragma once

// The test cluster the CTest fixture started, for the C++ tests that drive daemon code
// against a real server (LOCKWATCH_TEST_CLUSTER_DIR names it).

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>

namespace lockwatch::testing {

inline std::string cluster_port() {
  const char* dir = std::getenv("LOCKWATCH_TEST_CLUSTER_DIR");
  REQUIRE_MESSAGE(dir, "run through ctest: LOCKWATCH_TEST_CLUSTER_DIR names the test cluster");
  std::ifstream port_file(std::string(dir) + "/port");
  std::string port;
  port_file >> port;
  return port;
}

inline std::string cluster_dsn(const std::string& user = "postgres") {
  return "host=127.0.0.1 port=" + cluster_port() + " user=" + user + " dbname=postgres";
}

inline bool alive(pqxx::connection& observer, int pid) {
  pqxx::nontransaction tx(observer);
  return !tx.exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid).empty();
}

// Waits (bounded) until a signalled backend is gone; termination is asynchronous.
inline bool gone_within(pqxx::connection& observer, int pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!alive(observer, pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace lockwatch::testing
