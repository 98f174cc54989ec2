#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/config.hpp"

namespace lockwatch {
namespace {

constexpr std::string_view k_source = "cfg.toml";
constexpr const char* k_bcrypt = "$2b$04$TeNnRCuZPOwzb/X.sZwj1uNSO4UIGP2Jmm3DYISERt/tHhwNGV97e";

HttpConfig parse_http(const std::string& text) {
  const auto parsed = parse_config(text, k_source);
  INFO("error: ", parsed ? std::string() : parsed.error());
  REQUIRE(parsed.has_value());
  return parsed->http;
}

std::string error_of(const std::string& text) {
  const auto parsed = parse_config(text, k_source);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

TEST_SUITE("config [http] security") {
  TEST_CASE("defaults: loopback, plain HTTP, no auth, /healthz open") {
    const HttpConfig http = parse_http("");
    CHECK(http.listen == "127.0.0.1:9188");
    CHECK_FALSE(http.tls());
    CHECK_FALSE(http.auth());
    CHECK_FALSE(http.healthz_requires_auth);
  }

  TEST_CASE("TLS files and users are read") {
    const HttpConfig http = parse_http(std::string(R"([http]
tls_certificate = "/etc/pg_lockwatch/tls.crt"
tls_key = "/etc/pg_lockwatch/tls.key"
healthz_requires_auth = true
[http.basic_auth_users]
prometheus = ")") + k_bcrypt + R"("
"ops team" = ")" + k_bcrypt + "\"\n");
    CHECK(http.tls());
    CHECK(http.tls_certificate == "/etc/pg_lockwatch/tls.crt");
    CHECK(http.tls_key == "/etc/pg_lockwatch/tls.key");
    CHECK(http.healthz_requires_auth);
    REQUIRE(http.basic_auth_users.size() == 2);
    CHECK(http.basic_auth_users.at("prometheus") == k_bcrypt);
    CHECK(http.basic_auth_users.at("ops team") == k_bcrypt);
  }

  TEST_CASE("an inline table works as well") {
    const HttpConfig http =
        parse_http(std::string("[http]\nbasic_auth_users = { prom = \"") + k_bcrypt + "\" }\n");
    CHECK(http.auth());
  }

  TEST_CASE("the certificate may hold the key") {
    CHECK(parse_http("[http]\ntls_certificate = \"/x/both.pem\"\n").tls_key.empty());
  }

  TEST_CASE("errors name the file, line and key") {
    CHECK(error_of("[http]\n\ntls_key = \"/k.pem\"\n") ==
          "cfg.toml:3: [http] tls_key: set tls_certificate too");
    CHECK(error_of("[http.basic_auth_users]\nprom = \"hunter2\"\n") ==
          "cfg.toml:2: [http] basic_auth_users.prom: not a crypt(3) hash (plaintext passwords "
          "are not accepted); make one with `pg_lockwatch hash-password`");
    CHECK(error_of("[http.basic_auth_users]\nok = \"" + std::string(k_bcrypt) +
                   "\"\nold = \"$1$abcdefgh$yUi22Wh0AmKpErdRTSZwv1\"\n")
              .starts_with("cfg.toml:3: [http] basic_auth_users.old: unsupported hash scheme "
                           "\"$1$\""));
    CHECK(error_of("[http.basic_auth_users]\nprom = \"$2b$12$short\"\n")
              .starts_with("cfg.toml:2: [http] basic_auth_users.prom: malformed bcrypt hash"));
    CHECK(error_of("[http.basic_auth_users]\nprom = 12\n") ==
          "cfg.toml:2: [http] basic_auth_users.prom: expected a string");
    CHECK(error_of("[http]\nbasic_auth_users = \"prom\"\n") ==
          "cfg.toml:2: [http] basic_auth_users: expected a table, got a string");
    CHECK(error_of("[http]\nbasic_auth_users = {}\n") ==
          "cfg.toml:2: [http] basic_auth_users: no users: add one or remove the table");
    CHECK(error_of("[http.basic_auth_users]\n\"a:b\" = \"" + std::string(k_bcrypt) + "\"\n") ==
          "cfg.toml:2: [http] basic_auth_users.a:b: a user name must be non-empty and contain "
          "no colon");
    CHECK(error_of("[http]\ntls = true\n") == "cfg.toml:2: [http] tls: unknown key");
    CHECK(error_of("[http]\nhealthz_requires_auth = \"yes\"\n") ==
          "cfg.toml:2: [http] healthz_requires_auth: expected true or false, got a string");
  }

  TEST_CASE("configs compare equal only when every [http] key is the same") {
    const HttpConfig a = parse_http("[http]\ntls_certificate = \"/c.pem\"\n");
    HttpConfig b = a;
    CHECK(a == b);
    b.healthz_requires_auth = true;
    CHECK_FALSE(a == b);
  }
}

}  // namespace
}  // namespace lockwatch
