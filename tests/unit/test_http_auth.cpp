#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "core/base64.hpp"
#include "core/basic_authenticator.hpp"
#include "core/basic_credentials.hpp"
#include "core/constant_time.hpp"
#include "core/log_throttle.hpp"
#include "core/password_hash.hpp"

namespace lockwatch {
namespace {

// Hashes of "s3cret pass", made once with Python's crypt module and libxcrypt.
constexpr const char* k_bcrypt = "$2b$04$TeNnRCuZPOwzb/X.sZwj1uNSO4UIGP2Jmm3DYISERt/tHhwNGV97e";
constexpr const char* k_sha512 =
    "$6$rounds=5000$RAMO29njp.ZXFyxh$/k6qmYFx53feJH7y/TUQULMiAbgUtn0k8LvimF9YJGvdkE/"
    "fiOa7t.ZrhHnoJA2dcETFGLANJnOWGJt7G.jj6.";
constexpr const char* k_sha512_default_rounds =
    "$6$a8xscDaV/QoShmJ2$KdaNzzYdRaztrB.loYUmOnwJntp7h6yfUKduiQmgFxylKN/"
    "4uwvVy0CEiTzAv1lW.Z2wd/3ru238l5LcDZLir1";
constexpr const char* k_yescrypt =
    "$y$j9T$uI.GDMvpGdq6FrrpMi0Ca.$Ft0cHUZExuZXhcVAyEfhm3wcqD0e35SfLicZM1UMDP8";
// Made by `pg_lockwatch hash-password` (cost 12).
constexpr const char* k_bcrypt_cost_12 =
    "$2b$12$LkRIRf9PvomYIeAl9fi9AuPVu6p6tQE1oY8PoDPyX0yASQKXPUDWi";

// "Basic " + base64("prom:s3cret pass").
constexpr const char* k_good_header = "Basic cHJvbTpzM2NyZXQgcGFzcw==";

using Clock = BasicAuthenticator::Clock;

std::string basic(const std::string& user_colon_password) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < user_colon_password.size(); i += 3) {
    unsigned chunk = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      const auto byte = i + k < user_colon_password.size()
                            ? static_cast<unsigned char>(user_colon_password[i + k])
                            : 0u;
      chunk = (chunk << 8) | byte;
    }
    const std::size_t left = user_colon_password.size() - i;
    for (std::size_t k = 0; k < 4; ++k) {
      out += k <= left ? alphabet[(chunk >> (18 - 6 * k)) & 63u] : '=';
    }
  }
  return "Basic " + out;
}

TEST_SUITE("http auth") {
  TEST_CASE("base64 decodes padded RFC 4648 text and nothing else") {
    CHECK(decode_base64("") == "");
    CHECK(decode_base64("Zg==") == "f");
    CHECK(decode_base64("Zm8=") == "fo");
    CHECK(decode_base64("Zm9v") == "foo");
    CHECK(decode_base64("cHJvbTpzM2NyZXQgcGFzcw==") == "prom:s3cret pass");
    CHECK(decode_base64("w7w6cMOkc3N3b3Jk") == "\xc3\xbc:p\xc3\xa4ssword");
    CHECK(decode_base64("AP8=") == std::string("\0\xff", 2));

    SUBCASE("bad length") {
      CHECK_FALSE(decode_base64("Zg"));
      CHECK_FALSE(decode_base64("Zm9"));
      CHECK_FALSE(decode_base64("Zm9vY"));
    }
    SUBCASE("misplaced or excess padding") {
      CHECK_FALSE(decode_base64("Z==="));
      CHECK_FALSE(decode_base64("===="));
      CHECK_FALSE(decode_base64("Zg==Zm9v"));
      CHECK_FALSE(decode_base64("Z=g="));
    }
    SUBCASE("characters outside the alphabet") {
      CHECK_FALSE(decode_base64("Zm9v!A=="));
      CHECK_FALSE(decode_base64("Zm 9v"));
      CHECK_FALSE(decode_base64("Zm9v\n"));
      CHECK_FALSE(decode_base64("Zm-_"));  // base64url is not what Basic auth uses
    }
  }

  TEST_CASE("an Authorization header yields the user and password") {
    const auto credentials = parse_basic_authorization(k_good_header);
    REQUIRE(credentials);
    CHECK(credentials->user == "prom");
    CHECK(credentials->password == "s3cret pass");

    SUBCASE("the scheme is case-insensitive and spaces around the token are allowed") {
      CHECK(parse_basic_authorization("basic   cHJvbTpzM2NyZXQgcGFzcw==  "));
      CHECK(parse_basic_authorization("BASIC cHJvbTpzM2NyZXQgcGFzcw=="));
    }
    SUBCASE("the password keeps every colon after the first") {
      const auto split = parse_basic_authorization("Basic YTpiOmM=");
      REQUIRE(split);
      CHECK(split->user == "a");
      CHECK(split->password == "b:c");
    }
    SUBCASE("an empty user name is parsed (and later rejected as unknown)") {
      const auto empty = parse_basic_authorization("Basic OmVtcHR5LXVzZXI=");
      REQUIRE(empty);
      CHECK(empty->user.empty());
    }
    SUBCASE("other schemes and malformed values are refused") {
      CHECK_FALSE(parse_basic_authorization(""));
      CHECK_FALSE(parse_basic_authorization("Basic"));
      CHECK_FALSE(parse_basic_authorization("Bearer cHJvbTpzM2NyZXQgcGFzcw=="));
      CHECK_FALSE(parse_basic_authorization("Basicx cHJvbTpzM2NyZXQgcGFzcw=="));
      CHECK_FALSE(parse_basic_authorization("Basic bm9jb2xvbg=="));  // "nocolon"
      CHECK_FALSE(parse_basic_authorization("Basic not base64!"));
    }
  }

  TEST_CASE("constant_time_equals compares whole strings") {
    CHECK(constant_time_equals("", ""));
    CHECK(constant_time_equals("abc", "abc"));
    CHECK_FALSE(constant_time_equals("abc", "abd"));
    CHECK_FALSE(constant_time_equals("abc", "xbc"));
    CHECK_FALSE(constant_time_equals("abc", "ab"));
    CHECK_FALSE(constant_time_equals("ab", "abc"));
    CHECK_FALSE(constant_time_equals("abc", ""));
    CHECK_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
  }

  TEST_CASE("known crypt(3) hashes verify with the right password only") {
    for (const char* hash : {k_bcrypt, k_sha512, k_sha512_default_rounds, k_yescrypt}) {
      CAPTURE(hash);
      CHECK(password_hash_problem(hash).empty());
      CHECK(verify_password("s3cret pass", hash));
      CHECK_FALSE(verify_password("s3cret pas", hash));
      CHECK_FALSE(verify_password("s3cret pass ", hash));
      CHECK_FALSE(verify_password("", hash));
      CHECK_FALSE(verify_password(std::string("s3cret pass\0x", 13), hash));
    }
    CHECK(verify_password("s3cret pass", k_bcrypt_cost_12));
  }

  TEST_CASE("a hash that is not a complete hash never verifies") {
    CHECK_FALSE(verify_password("s3cret pass", "s3cret pass"));
    CHECK_FALSE(verify_password("s3cret pass", ""));
    CHECK_FALSE(verify_password("s3cret pass", std::string(k_bcrypt).substr(0, 59)));
    CHECK_FALSE(verify_password("s3cret pass", std::string(k_bcrypt).substr(0, 29)));
  }

  TEST_CASE("hash_password makes hashes that verify, with a fresh salt each time") {
    const auto first = hash_password("correct horse", "$2b$", 4);
    const auto second = hash_password("correct horse", "$2b$", 4);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->starts_with("$2b$04$"));
    CHECK(*first != *second);
    CHECK(password_hash_problem(*first).empty());
    CHECK(verify_password("correct horse", *first));
    CHECK_FALSE(verify_password("correct horsE", *first));

    const auto sha = hash_password("correct horse", "$6$", 1000);
    REQUIRE(sha);
    CHECK(sha->starts_with("$6$"));
    CHECK(verify_password("correct horse", *sha));
    CHECK_FALSE(hash_password(std::string("nul\0inside", 10), "$2b$", 4));
    CHECK_FALSE(hash_password("x", "$2b$", 3));
  }

  TEST_CASE("plaintext, weak and malformed hashes are named as such") {
    CHECK(password_hash_problem("hunter2").starts_with("not a crypt(3) hash"));
    CHECK(password_hash_problem("").starts_with("not a crypt(3) hash"));
    CHECK(password_hash_problem("$1$abcdefgh$yUi22Wh0AmKpErdRTSZwv1") ==
          "unsupported hash scheme \"$1$\"; use bcrypt ($2b$), sha512-crypt ($6$) or yescrypt "
          "($y$): `pg_lockwatch hash-password` makes a bcrypt hash");
    CHECK(password_hash_problem("$5$abcdefgh$/XQpiq6io7lkuXZDsxnm7cTuMRg2bA4y6FTmsaa.A78")
              .starts_with("unsupported hash scheme \"$5$\""));
    CHECK(password_hash_problem(std::string(k_bcrypt).substr(0, 59))
              .starts_with("malformed bcrypt hash"));
    CHECK(password_hash_problem("$2b$03$TeNnRCuZPOwzb/X.sZwj1uNSO4UIGP2Jmm3DYISERt/tHhwNGV97e")
              .starts_with("malformed bcrypt hash"));
    CHECK(password_hash_problem("$6$salt$short").starts_with("malformed sha512-crypt hash"));
    CHECK(password_hash_problem("$y$j9T$salt$short").starts_with("malformed yescrypt hash"));
    CHECK(password_hash_problem("$2c$04$TeNnRCuZPOwzb/X.sZwj1uNSO4UIGP2Jmm3DYISERt/tHhwNGV97e")
              .starts_with("malformed bcrypt hash"));
  }

  TEST_CASE("the authenticator accepts, rejects, and remembers a good password") {
    BasicAuthenticator auth({{"prom", k_sha512}, {"ops", k_bcrypt}}, 1000.0);
    const auto now = Clock::now();

    CHECK(auth.check("", now).result == AuthResult::missing);
    CHECK(auth.check("Bearer abc", now).result == AuthResult::rejected);
    CHECK(auth.check(basic("prom:wrong"), now).result == AuthResult::rejected);
    CHECK(auth.check(basic("nobody:s3cret pass"), now).result == AuthResult::rejected);
    const AuthCheck good = auth.check(k_good_header, now);
    CHECK(good.result == AuthResult::accepted);
    CHECK(good.user == "prom");
    // Settled by the remembered hash from now on, both ways.
    CHECK(auth.check(k_good_header, now).result == AuthResult::accepted);
    CHECK(auth.check(basic("prom:wrong"), now).result == AuthResult::rejected);
    CHECK(auth.check(basic("ops:s3cret pass"), now).result == AuthResult::accepted);
    CHECK(auth.check(basic("ops:s3cret pass"), now).user == "ops");
  }

  TEST_CASE("user names in the result are cut and made printable") {
    BasicAuthenticator auth({{"prom", k_sha512}}, 1000.0);
    const AuthCheck check = auth.check(basic(std::string(100, 'u') + "\n:x"), Clock::now());
    CHECK(check.result == AuthResult::rejected);
    CHECK(check.user == std::string(64, 'u'));
    CHECK(auth.check(basic("a\tb:x"), Clock::now()).user == "a?b");
  }

  TEST_CASE("slow checks are rate-limited, remembered passwords are not") {
    // One slow check a second, a burst of two.
    BasicAuthenticator auth({{"prom", k_sha512}}, 1.0);
    const auto start = Clock::now();
    CHECK(auth.check(k_good_header, start).result == AuthResult::accepted);
    CHECK(auth.check(basic("guess:1"), start).result == AuthResult::rejected);
    CHECK(auth.check(basic("guess:2"), start).result == AuthResult::throttled);
    CHECK(auth.check(k_good_header, start).result == AuthResult::accepted);
    CHECK(auth.check(basic("guess:3"), start + std::chrono::milliseconds(500)).result ==
          AuthResult::throttled);
    CHECK(auth.check(basic("guess:4"), start + std::chrono::seconds(1)).result ==
          AuthResult::rejected);
  }

  TEST_CASE("wrong guesses against a remembered password are throttled too") {
    // One check a second, a burst of two; prom's password is remembered after the first.
    BasicAuthenticator auth({{"prom", k_sha512}}, 1.0);
    const auto start = Clock::now();
    REQUIRE(auth.check(k_good_header, start).result == AuthResult::accepted);

    int rejected = 0;
    int throttled = 0;
    for (int i = 0; i < 100; ++i) {
      const AuthResult r = auth.check(basic("prom:guess" + std::to_string(i)), start).result;
      rejected += r == AuthResult::rejected;
      throttled += r == AuthResult::throttled;
    }
    CHECK(rejected == 2);
    CHECK(throttled == 98);
    // While throttled nothing is checked, so a 429 says nothing about the password.
    CHECK(auth.check(k_good_header, start).result == AuthResult::throttled);
    // A second later the scraper gets through, and its successes cost no allowance.
    const auto later = start + std::chrono::seconds(1);
    for (int i = 0; i < 5; ++i)
      CHECK(auth.check(k_good_header, later).result == AuthResult::accepted);
    CHECK(auth.check(basic("prom:guess"), later).result == AuthResult::rejected);
    CHECK(auth.check(basic("prom:guess"), later).result == AuthResult::throttled);
  }

  TEST_CASE("LogThrottle lets one event a window through and counts the rest") {
    LogThrottle throttle(std::chrono::seconds(60));
    const auto start = LogThrottle::Clock::now();
    CHECK(throttle.admit(start) == 0u);
    CHECK_FALSE(throttle.admit(start + std::chrono::seconds(1)));
    CHECK_FALSE(throttle.admit(start + std::chrono::seconds(59)));
    CHECK(throttle.admit(start + std::chrono::seconds(60)) == 2u);
    CHECK(throttle.admit(start + std::chrono::seconds(200)) == 0u);
  }
}

}  // namespace
}  // namespace lockwatch
