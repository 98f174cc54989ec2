#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/chain_log.hpp"
#include "core/chain_report.hpp"
#include "core/chain_tree.hpp"
#include "core/config.hpp"
#include "core/policy_engine.hpp"
#include "core/pooler_attribution.hpp"
#include "core/pooler_detection.hpp"
#include "core/pooler_sockets.hpp"
#include "core/session_description.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Row = std::vector<std::optional<std::string>>;

// pgbouncer 1.18's SHOW SERVERS and SHOW CLIENTS columns (1.18 has no "id").
const std::vector<std::string> k_columns_118 = {
    "type",         "user",       "database",     "state",        "addr", "port",
    "local_addr",   "local_port", "connect_time", "request_time", "wait", "wait_us",
    "close_needed", "ptr",        "link",         "remote_pid",   "tls",  "application_name"};

Row socket_row(std::string user, std::string state, std::string addr, int port, std::string ptr,
               std::string link, int remote_pid, std::string app) {
  return Row{"S",
             user,
             "shop",
             state,
             addr,
             std::to_string(port),
             "127.0.0.1",
             "6432",
             "2026-12-05 02:10:00 UTC",
             "2026-12-05 02:10:01 UTC",
             "0",
             "0",
             "0",
             ptr,
             link.empty() ? std::optional<std::string>("") : std::optional<std::string>(link),
             std::to_string(remote_pid),
             "",
             app};
}

// The seed incident's root 65365 is pgbouncer's server connection 0x51; its client, an api
// instance at 10.0.0.7:53122, is 0xc1. Another server, 0x52, serves nobody.
PoolerReading seed_reading() {
  PoolerReading r;
  r.pooler = "pgbouncer";
  r.up = true;
  r.started_at = k_now - 10 * k_micros_per_second;
  r.finished_at = r.started_at + 5'000;
  r.servers = {PoolerSocket{"app", "shop", "active", "127.0.0.1", 5432, "", 0, "", "0x51", "0xc1",
                            65365, "", ""}};
  r.clients = {PoolerSocket{"app", "shop", "active", "10.0.0.7", 53122, "", 0,
                            "2026-12-05 02:00:00 UTC", "0xc1", "0x51", 0, "api", ""}};
  return r;
}

TEST_SUITE("pooler console rows") {
  TEST_CASE("columns are read by name, whatever their order and the extra ones") {
    ConsoleTable table;
    table.columns = k_columns_118;
    table.rows.push_back(socket_row("app", "active", "127.0.0.1", 5432, "0x51", "0xc1", 65365, ""));
    std::reverse(table.columns.begin(), table.columns.end());
    std::reverse(table.rows.front().begin(), table.rows.front().end());

    const auto sockets = read_pooler_sockets(table, "SHOW SERVERS");
    REQUIRE(sockets.has_value());
    REQUIRE(sockets->size() == 1);
    const PoolerSocket& s = sockets->front();
    CHECK(s.user == "app");
    CHECK(s.database == "shop");
    CHECK(s.state == "active");
    CHECK(s.addr == "127.0.0.1");
    CHECK(s.port == 5432);
    CHECK(s.ptr == "0x51");
    CHECK(s.link == "0xc1");
    CHECK(s.remote_pid == 65365);
    CHECK(s.connect_time == "2026-12-05 02:10:00 UTC");
    CHECK(s.id.empty());
  }

  TEST_CASE("pgbouncer 1.23's id column is kept, and a NULL cell reads as empty") {
    ConsoleTable table;
    table.columns = k_columns_118;
    table.columns.push_back("id");
    Row row = socket_row("app", "idle", "10.0.0.7", 53122, "0xc1", "", 0, "api");
    row[14] = std::nullopt;  // link
    row.push_back("17");
    table.rows.push_back(row);

    const auto sockets = read_pooler_sockets(table, "SHOW CLIENTS");
    REQUIRE(sockets.has_value());
    CHECK(sockets->front().id == "17");
    CHECK(sockets->front().link.empty());
    CHECK(sockets->front().application_name == "api");
  }

  TEST_CASE("a missing column the join needs is an error that names it") {
    ConsoleTable table;
    table.columns = k_columns_118;
    table.columns.erase(std::find(table.columns.begin(), table.columns.end(), "link"));

    const auto sockets = read_pooler_sockets(table, "SHOW SERVERS");
    REQUIRE_FALSE(sockets.has_value());
    CHECK(sockets.error() ==
          "SHOW SERVERS has no column \"link\" (pgbouncer 1.18 or newer is needed)");
  }
}

TEST_SUITE("pooler attribution") {
  TEST_CASE("a server's remote_pid is the backend, its link the client") {
    const Observation obs(seed_incident());
    const PoolerLinks links = attribute_backends(std::vector{seed_reading()}, obs.activity());

    REQUIRE(links.size() == 1);
    const PoolerLink& link = links.at(65365);
    CHECK(link.pooler == "pgbouncer");
    CHECK(link.server_state == "active");
    REQUIRE(link.client.has_value());
    CHECK(link.client->addr == "10.0.0.7");
    CHECK(link.client->port == 53122);
    CHECK(link.client->application_name == "api");
    CHECK(pooler_label(link, false) == "via pgbouncer 10.0.0.7:53122");
  }

  TEST_CASE("a client that links the server is found when the server's link is empty") {
    PoolerReading reading = seed_reading();
    reading.servers.front().link.clear();
    const Observation obs(seed_incident());

    const PoolerLinks links = attribute_backends(std::vector{reading}, obs.activity());
    REQUIRE(links.count(65365) == 1);
    REQUIRE(links.at(65365).client.has_value());
    CHECK(links.at(65365).client->port == 53122);
  }

  TEST_CASE("a backend that changed state after the pooler was read is not linked") {
    // 65365 has been idle in transaction for 312s; a reading from before that could name a
    // client it served in an earlier transaction.
    PoolerReading reading = seed_reading();
    reading.started_at = k_now - 400 * k_micros_per_second;
    reading.finished_at = reading.started_at + 5'000;
    const Observation obs(seed_incident());

    CHECK(attribute_backends(std::vector{reading}, obs.activity()).empty());
  }

  TEST_CASE("a reading that finished after the activity snapshot links nothing") {
    PoolerReading reading = seed_reading();
    reading.finished_at = k_now + 1;
    const Observation obs(seed_incident());

    CHECK(attribute_backends(std::vector{reading}, obs.activity()).empty());
  }

  TEST_CASE("a pooler that is down links nothing") {
    PoolerReading reading = seed_reading();
    reading.up = false;
    const Observation obs(seed_incident());

    CHECK(attribute_backends(std::vector{reading}, obs.activity()).empty());
  }

  TEST_CASE("a lock holder whose server serves no client is a ghost lock") {
    PoolerReading reading = seed_reading();
    reading.servers.front().link.clear();
    reading.clients.clear();
    Observation obs(seed_incident());
    obs.set_pooler_links(attribute_backends(std::vector{reading}, obs.activity()));

    REQUIRE(obs.pooler_link(65365) != nullptr);
    CHECK_FALSE(obs.pooler_link(65365)->client_unlisted);
    CHECK(obs.is_ghost_lock_holder(65365));
    CHECK(obs.ghost_lock_holders() == 1);
    CHECK(pooler_suffix(obs, 65365) == " via pgbouncer, no client (ghost lock)");
  }

  TEST_CASE("a server linked to a client SHOW CLIENTS did not list is a ghost lock too") {
    PoolerReading reading = seed_reading();
    reading.clients.clear();
    Observation obs(seed_incident());
    obs.set_pooler_links(attribute_backends(std::vector{reading}, obs.activity()));

    CHECK(obs.pooler_link(65365)->client_unlisted);
    CHECK(obs.is_ghost_lock_holder(65365));
    CHECK(pooler_suffix(obs, 65365) == " via pgbouncer, a client it does not list (ghost lock)");
  }

  TEST_CASE("a pooled backend with no client that blocks nobody is no ghost lock") {
    PoolerReading reading = seed_reading();
    reading.servers.front().remote_pid = 79337;  // the last waiter: holds nobody up
    reading.servers.front().link.clear();
    reading.clients.clear();
    PollSnapshots snapshot = seed_incident();
    for (Backend& b : snapshot.activity.backends) {
      if (b.pid == 79337) b.state_change = k_now - 60 * k_micros_per_second;
    }
    Observation obs(snapshot);
    obs.set_pooler_links(attribute_backends(std::vector{reading}, obs.activity()));

    REQUIRE(obs.pooler_link(79337) != nullptr);
    CHECK_FALSE(obs.is_ghost_lock_holder(79337));
    CHECK(obs.ghost_lock_holders() == 0);
  }
}

std::unique_ptr<Observation> attributed_seed() {
  auto obs = std::make_unique<Observation>(seed_incident());
  obs->set_pooler_links(attribute_backends(std::vector{seed_reading()}, obs->activity()));
  return obs;
}

TEST_SUITE("pooler attribution in every output") {
  TEST_CASE("the chains JSON has via_pooler on the root, and on nobody else") {
    const std::string json = render_chains_json(*attributed_seed());
    CAPTURE(json);
    CHECK(json.find(R"("ghost_lock":false,"via_pooler":{"pooler":"pgbouncer",)"
                    R"("server_state":"active","client_linked":true,"client_addr":"10.0.0.7",)"
                    R"("client_port":53122,"application_name":"api","user":"app",)"
                    R"("database":"shop","connect_time":"2026-12-05 02:00:00 UTC",)"
                    R"("state":"active"})") != std::string::npos);
    CHECK(json.find(R"("via_pooler")") == json.rfind(R"("via_pooler")"));
    CHECK(json.find(R"("ghost_lock_holders":0)") != std::string::npos);
  }

  TEST_CASE("the tree and the chain log name the client") {
    const auto attributed = attributed_seed();
    const Observation& obs = *attributed;
    const std::string tree = render_chain_tree(obs, TreeOptions{});
    CAPTURE(tree);
    CHECK(tree.find("65365  api via pgbouncer 10.0.0.7:53122  idle in transaction") !=
          std::string::npos);

    const std::string chain = describe_chain(obs, obs.locks().roots.front());
    CHECK(chain.starts_with("65365 (api via pgbouncer 10.0.0.7:53122, idle in transaction 312s"));
  }

  TEST_CASE("the chain log logs a chain again once the pooler names its root's client") {
    ChainLog log;
    CHECK(log.update(Observation(seed_incident())).size() == 1);
    const std::vector<std::string> lines = log.update(*attributed_seed());
    REQUIRE(lines.size() == 1);
    CHECK(lines.front().find("via pgbouncer 10.0.0.7:53122") != std::string::npos);
    CHECK(log.update(*attributed_seed()).empty());
    CHECK(log.update(Observation(seed_incident())).empty());  // not read this time: no news
  }
}

Policy pooled_reaper() {
  Policy p;
  p.name = "pooled";
  p.action = PolicyAction::terminate;
  p.states = {"idle in transaction"};
  p.only_if_blocking = true;
  p.dry_run = false;
  return p;
}

TEST_SUITE("policies on the real client") {
  TEST_CASE("pooler_client_addrs and pooler_applications match the linked client") {
    const PoolerLink link =
        attribute_backends(std::vector{seed_reading()}, Observation(seed_incident()).activity())
            .at(65365);
    Policy p = pooled_reaper();
    CHECK(pooler_client_matches(p, nullptr));  // neither set: any backend
    p.pooler_client_addrs = {"10.0.0.*"};
    CHECK(pooler_client_matches(p, &link));
    CHECK_FALSE(pooler_client_matches(p, nullptr));
    p.pooler_applications = {"worker*"};
    CHECK_FALSE(pooler_client_matches(p, &link));
    p.pooler_applications = {"api"};
    CHECK(pooler_client_matches(p, &link));
    p.pooler_client_addrs = {"10.0.1.*"};
    CHECK_FALSE(pooler_client_matches(p, &link));
  }

  TEST_CASE("a policy restricted to a pooled client decides only about it, and says who") {
    Policy p = pooled_reaper();
    p.pooler_client_addrs = {"10.0.0.7"};
    SafetyConfig safety;
    safety.dry_run = false;
    PolicyEngine engine;

    const auto unattributed = engine.decide(Observation(seed_incident()), safety, {p}, {});
    CHECK(unattributed.empty());

    const auto decisions = engine.decide(*attributed_seed(), safety, {p}, {});
    REQUIRE(decisions.size() == 1);
    CHECK(decisions.front().target.pid == 65365);
    CHECK(decisions.front().pooler_client == "pgbouncer 10.0.0.7:53122 application=api");
  }
}

TEST_SUITE("config: [[pooler]]") {
  TEST_CASE("poolers are read with their defaults") {
    const auto config = parse_config(R"([[pooler]]
name = "edge"
dsn = "host=10.0.0.5 port=6432 dbname=pgbouncer user=stats"

[[pooler]]
name = "batch"
dsn_file = "${CREDENTIALS_DIRECTORY}/pgbouncer-batch"
min_interval = "5s"
timeout = "300ms"

[[policy]]
name = "api-only"
pooler_client_addrs = ["10.0.0.*"]
pooler_applications = ["api"]
)",
                                     "cfg.toml");
    REQUIRE(config.has_value());
    REQUIRE(config->poolers.size() == 2);
    CHECK(config->poolers[0].name == "edge");
    CHECK(config->poolers[0].kind == "pgbouncer");
    CHECK(config->poolers[0].min_interval == std::chrono::seconds(1));
    CHECK(config->poolers[0].timeout == std::chrono::seconds(1));
    CHECK(config->poolers[1].dsn_file == "${CREDENTIALS_DIRECTORY}/pgbouncer-batch");
    CHECK(config->poolers[1].min_interval == std::chrono::seconds(5));
    CHECK(config->poolers[1].timeout == std::chrono::milliseconds(300));
    CHECK(config->policies.front().pooler_client_addrs == std::vector<std::string>{"10.0.0.*"});
    CHECK(config->policies.front().pooler_applications == std::vector<std::string>{"api"});
  }

  TEST_CASE("bad pooler tables name the file, line and key") {
    const auto check = [](const char* text, const char* expected) {
      const auto config = parse_config(text, "cfg.toml");
      REQUIRE_FALSE(config.has_value());
      CHECK(config.error() == expected);
    };
    check("[[pooler]]\nname = \"a\"\ndsn = \"x\"\nkind = \"odyssey\"\n",
          "cfg.toml:4: [[pooler]] #1 kind: \"odyssey\" is not one of: pgbouncer");
    check("[[pooler]]\nname = \"a\"\n",
          "cfg.toml:1: [[pooler]] #1 dsn: set dsn (the admin console's, e.g. \"host=10.0.0.5 "
          "port=6432 dbname=pgbouncer user=stats\") or dsn_file, one of them");
    check("[[pooler]]\nname = \"a\"\ndsn = \"x\"\n[[pooler]]\nname = \"a\"\ndsn = \"y\"\n",
          "cfg.toml:5: [[pooler]] #2 name: duplicate pooler name \"a\"");
    check("[[pooler]]\nname = \"a\"\ndsn = \"x\"\nmin_intervall = \"1s\"\n",
          "cfg.toml:4: [[pooler]] #1 min_intervall: unknown key");
    check("pooler = 3\n", "cfg.toml:1: pooler: use [[pooler]] tables");
  }
}

TEST_SUITE("pooler detection") {
  ConnectionView tcp(std::string local_addr, int local_port, std::string seen_addr, int seen_port) {
    ConnectionView v;
    v.dsn_port = "5432";
    v.server_port = "5432";
    v.local = Endpoint{std::move(local_addr), local_port};
    v.server_sees = Endpoint{std::move(seen_addr), seen_port};
    return v;
  }

  TEST_CASE("the server seeing our own socket is a direct connection, whatever port we dialled") {
    CHECK_FALSE(judge_connection(tcp("127.0.0.1", 40001, "127.0.0.1", 40001)).via_pooler);
    ConnectionView mapped = tcp("10.0.0.9", 40001, "10.0.0.9", 40001);
    mapped.dsn_port = "15432";  // Docker -p 15432:5432
    CHECK_FALSE(judge_connection(mapped).via_pooler);
    CHECK_FALSE(judge_connection(tcp("::ffff:127.0.0.1", 40001, "127.0.0.1", 40001)).via_pooler);
  }

  TEST_CASE("a relay on the same port number is caught by the endpoints") {
    const PoolerCheck check = judge_connection(tcp("127.0.0.1", 40001, "127.0.0.1", 40555));
    CHECK(check.via_pooler);
    CHECK(check.reason ==
          "the server sees this connection come from 127.0.0.1:40555, but its socket here is "
          "127.0.0.1:40001 (something relays it: a pooler, a proxy or NAT)");
  }

  TEST_CASE("without endpoints the ports and the backend pid decide") {
    ConnectionView v;
    v.dsn_port = "6432";
    v.server_port = "5432";
    CHECK(judge_connection(v).reason ==
          "the DSN names port 6432 but the server listens on port 5432");
    v.dsn_port = "5432";
    CHECK_FALSE(judge_connection(v).via_pooler);
    v.backend_pid_changed = true;
    CHECK(judge_connection(v).via_pooler);

    ConnectionView socket;
    socket.over_unix_socket = true;
    CHECK_FALSE(judge_connection(socket).via_pooler);
    socket.server_port = "5432";
    CHECK(judge_connection(socket).via_pooler);
  }
}

}  // namespace
}  // namespace lockwatch
