// The watchdog's session against a real server: what a lost connection does to it, and
// what it asks of TCP. Needs the test cluster (LOCKWATCH_TEST_CLUSTER_DIR, set by CTest).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "pg/session.hpp"
#include "test_cluster.hpp"

namespace lockwatch {
namespace {

using testing::cluster_dsn;

SessionSettings settings() {
  SessionSettings s;
  s.dsn = cluster_dsn();
  return s;
}

// Ends `session`'s backend from another connection and waits until it is gone.
void terminate_backend_of(Session& session) {
  pqxx::connection observer(cluster_dsn());
  const int pid = session.backend_pid();
  pqxx::nontransaction(observer).exec_params("SELECT pg_terminate_backend($1)", pid);
  REQUIRE(testing::gone_within(observer, pid, std::chrono::seconds(5)));
}

bool socket_works(int a, int b) {
  char c = 0;
  return ::send(a, "x", 1, MSG_NOSIGNAL) == 1 && ::recv(b, &c, 1, MSG_DONTWAIT) == 1 && c == 'x';
}

TEST_SUITE("session") {
  TEST_CASE("a lost session stays lost: no silent reconnect without its safety settings") {
    Session session(settings());
    terminate_backend_of(session);
    // libpqxx 6 reconnects by itself a transaction or two later, with none of the SETs
    // (statement_timeout, lock_timeout, read only) and a socket abort() never saw.
    for (int attempt = 1; attempt <= 4; ++attempt) {
      CAPTURE(attempt);
      CHECK_THROWS(pqxx::nontransaction(session.connection()).exec("SHOW statement_timeout"));
    }
  }

  TEST_CASE("abort() after the socket was closed leaves the next owner of its number alone") {
    Session session(settings());
    const int number = session.connection().sock();
    terminate_backend_of(session);
    CHECK_THROWS(pqxx::nontransaction(session.connection()).exec("SELECT 1"));
    // The number is free now (libpq closed it) or still libpq's; stage its reuse.
    int pair[2] = {-1, -1};
    if (::fcntl(number, F_GETFD) != -1) session.connection().disconnect();
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    REQUIRE((pair[0] == number || pair[1] == number));
    REQUIRE(socket_works(pair[0], pair[1]));

    session.abort();

    CHECK(socket_works(pair[0], pair[1]));
    CHECK(socket_works(pair[1], pair[0]));
    ::close(pair[0]);
    ::close(pair[1]);
  }

  TEST_CASE("TCP keepalives and tcp_user_timeout are set unless the DSN sets them") {
    const std::string conninfo = build_conninfo("host=db1 dbname=app", std::chrono::seconds(5));
    CAPTURE(conninfo);
    CHECK(conninfo.find("keepalives='1'") != std::string::npos);
    CHECK(conninfo.find("keepalives_idle='5'") != std::string::npos);
    CHECK(conninfo.find("keepalives_interval='2'") != std::string::npos);
    CHECK(conninfo.find("keepalives_count='3'") != std::string::npos);
    CHECK(conninfo.find("tcp_user_timeout=") != std::string::npos);

    const std::string own = build_conninfo("host=db1 keepalives_idle=60 tcp_user_timeout=30000",
                                           std::chrono::seconds(5));
    CAPTURE(own);
    CHECK(own.find("keepalives_idle='60'") != std::string::npos);
    CHECK(own.find("keepalives_idle='5'") == std::string::npos);
    CHECK(own.find("tcp_user_timeout='30000'") != std::string::npos);
    CHECK(own.find("keepalives_count='3'") != std::string::npos);
  }

  TEST_CASE("a session with them connects over TCP") {
    Session session(settings());
    pqxx::nontransaction tx(session.connection());
    CHECK(tx.exec1("SELECT current_setting('application_name')")[0].as<std::string>() ==
          "pg_lockwatch");
  }
}

}  // namespace
}  // namespace lockwatch
