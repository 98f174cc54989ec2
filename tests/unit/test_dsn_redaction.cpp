#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/dsn_redaction.hpp"
#include "dsn_builders.hpp"

namespace lockwatch {
namespace {

using testing::conninfo_quote;
using testing::percent_encode;

struct Case {
  std::string input;
  std::string expected;
};

void check_table(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    CAPTURE(c.input);
    const std::string once = mask_dsn(c.input);
    CHECK(once == c.expected);
    CHECK(mask_dsn(once) == once);
  }
}

TEST_CASE("mask_dsn masks conninfo passwords") {
  SUBCASE("bare and quoted values") {
    check_table({
        {"host=db password=secret user=app", "host=db password=*** user=app"},
        {"password = 'se cr\\'et' dbname=x", "password = '***' dbname=x"},
        {"password='' host=h", "password='' host=h"},
        {"password='x'host=h", "password='***'host=h"},
        {"password=a\\ b host=h", "password=*** host=h"},
        {"host=h\tpassword=x\tdbname=d", "host=h\tpassword=***\tdbname=d"},
        {"  host = h   password=x  ", "  host = h   password=***  "},
        {"sslpassword=k password=p", "sslpassword=*** password=***"},
        {"oauth_client_secret=s", "oauth_client_secret=***"},
        {"PASSWORD=x Password=y", "PASSWORD=*** Password=***"},
    });
  }
  SUBCASE("everything else is byte-identical") {
    check_table({
        {"", ""},
        {"host=h port=5432 dbname=app", "host=h port=5432 dbname=app"},
        {"mypassword=x password_file=y passfile=/p", "mypassword=x password_file=y passfile=/p"},
        {"application_name='password=x' host=h", "application_name='password=x' host=h"},
        {"options='-c password=x'", "options='-c password=x'"},
        {"password=", "password="},
        {"password", "password"},
    });
  }
  SUBCASE("libpq quirks and malformed input") {
    check_table({
        // libpq skips blanks after `=`, so `host=h` is the password here.
        {"password= host=h", "password= ***"},
        {"password='unterminated dbname=x", "password='***"},
        {"host=h password=x\\", "host=h password=***"},
        {"host=h password='x\\", "host=h password='***"},
        {"password secret host=h", "password *** host=h"},
        {"=== '''", "=== '''"},
        // libpq would read a host named "password=x"; the embedded pair is masked instead.
        {"host= password=x", "host= password=***"},
        {"host=password=x", "host=password=***"},
        {"= password=x", "= password=***"},
        {"=password = x", "=password = ***"},
        {"host=password", "host=password"},
        // Any unterminated quoted value is masked: it swallows whatever follows.
        {"host='a password=b", "host='***"},
        {"application_name='it\\'s", "application_name='***"},
    });
  }
}

TEST_CASE("mask_dsn masks URI passwords") {
  SUBCASE("userinfo and query parameters") {
    check_table({
        {"postgresql://user:secret@host:5432/db?sslmode=require&password=other",
         "postgresql://user:***@host:5432/db?sslmode=require&password=***"},
        {"postgres://u:p%40ss%2Fw@h/db", "postgres://u:***@h/db"},
        {"postgresql://u:p@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"},
        {"postgresql://:p@h", "postgresql://:***@h"},
        {"postgresql://h/db?p%61ssword=x&application_name=a",
         "postgresql://h/db?p%61ssword=***&application_name=a"},
        {"postgresql://h/db?PASSWORD=x&sslpassword=y",
         "postgresql://h/db?PASSWORD=***&sslpassword=***"},
        {"POSTGRESQL://u:p@h", "POSTGRESQL://u:***@h"},
        {"  postgresql://u:p@h", "  postgresql://u:***@h"},
    });
  }
  SUBCASE("URIs without a password are unchanged") {
    check_table({
        {"postgresql://user@host", "postgresql://user@host"},
        {"postgresql://host/db", "postgresql://host/db"},
        {"postgresql://h1:5432,h2:5433/db", "postgresql://h1:5432,h2:5433/db"},
        {"postgresql://", "postgresql://"},
        {"postgresql:///db?host=/tmp", "postgresql:///db?host=/tmp"},
        {"postgresql://u:@h", "postgresql://u:@h"},
        {"postgresql://h/db?password", "postgresql://h/db?password"},
        {"postgresql://h/db?password=", "postgresql://h/db?password="},
        {"postgresql://h/db?a=1&&b=2", "postgresql://h/db?a=1&&b=2"},
        {"postgresql://h/me@x", "postgresql://h/me@x"},
    });
  }
  SUBCASE("unescaped delimiters err on the side of masking") {
    check_table({
        {"postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"},
        {"postgresql://u:p@h?application_name=a@b", "postgresql://u:***@b"},
        {"postgresql://h?password=sec@x", "postgresql://h?password=***"},
        {"postgresql://u:p?password=x@h", "postgresql://u:***"},
        {"postgresql://u:p?a=b@h?password=x", "postgresql://u:***@h?password=***"},
        {"postgresql://h/db?application_name=what?password=x",
         "postgresql://h/db?application_name=what?password=***"},
        {"postgresql://u:p/w@h/db", "postgresql://u:p/w@h/db"},
        // Found by fuzzing: a `/` inside a masked value must not decide where the userinfo ends,
        // or masking a second time would mask more (the output must be a fixpoint).
        {"postgresql://:h?password=se/mm?@x", "postgresql://:***@x"},
        {"postgresql://u:p?password=a@h&x=1", "postgresql://u:***&x=1"},
        {"postgresql://h?password=a:b&c@x", "postgresql://h?password=***&c@x"},
    });
  }
}

TEST_CASE("mask_dsn never leaks a well-formed password") {
  const std::vector<std::string> secrets = {
      "hunter2",   "se cr'et", "back\\slash", "p@ss/w:rd?&=", "gr\xc3\xbc\xc3\x9f-dich",
      "tab\there", "x"};
  for (const std::string& secret : secrets) {
    CAPTURE(secret);
    const std::vector<std::string> dsns = {
        "host=h password=" + conninfo_quote(secret) + " dbname=d",
        "password =  " + conninfo_quote(secret),
        "sslpassword=" + conninfo_quote(secret) + " password=" + conninfo_quote(secret),
        "postgresql://u:" + percent_encode(secret) + "@h:5432/d",
        "postgresql://u@h/d?sslmode=require&password=" + percent_encode(secret),
        "postgres://u:" + percent_encode(secret) + "@h1,h2/d?password=" + percent_encode(secret),
    };
    for (const std::string& dsn : dsns) {
      CAPTURE(dsn);
      const std::string out = mask_dsn(dsn);
      CHECK(out.find(secret) == std::string::npos);
      CHECK(out.find(conninfo_quote(secret)) == std::string::npos);
      CHECK(out.find(percent_encode(secret)) == std::string::npos);
      CHECK(out.find("***") != std::string::npos);
    }
  }
}

TEST_CASE("mask_dsn survives hostile input") {
  using namespace std::string_literals;
  for (const std::string& dsn :
       {"\0password=\0x"s, "password=\xff\xfe"s, std::string(10000, '\\'), std::string(10000, '\''),
        std::string(10000, '='), "postgresql://"s + std::string(10000, '@'),
        "postgresql://?"s + std::string(10000, '&'), "postgresql://:"s}) {
    const std::string out = mask_dsn(dsn);
    CHECK(mask_dsn(out) == out);
  }
  // libpq stops at NUL, but the bytes after it reach the log, so NUL separates pairs.
  CHECK(mask_dsn("\0password=\0x"s) == "\0password=\0***"s);
  CHECK(mask_dsn("host=h\0password=x"s) == "host=h\0password=***"s);
}

TEST_CASE("mask_secret replaces every occurrence") {
  struct SecretCase {
    std::string text;
    std::string secret;
    std::string expected;
  };
  const std::vector<SecretCase> cases = {
      {"connect failed for pw hunter2", "hunter2", "connect failed for pw ***"},
      {"hunter2 and hunter2", "hunter2", "*** and ***"},
      {"no secret here", "hunter2", "no secret here"},
      {"text", "", "text"},
      {"", "hunter2", ""},
      {"", "", ""},
      {"short", "much longer secret", "short"},
      // Overlapping and touching occurrences merge, so no fragment survives.
      {"ababa", "aba", "***"},
      {"abab", "ab", "***"},
      {"xaaaabx", "aaab", "xa***x"},
      {"aabaabaab!", "aabaab", "***!"},
      {std::string("a\0b", 3), std::string("\0", 1), "a***b"},
  };
  for (const SecretCase& c : cases) {
    CAPTURE(c.text);
    CAPTURE(c.secret);
    CHECK(mask_secret(c.text, c.secret) == c.expected);
  }
}

}  // namespace
}  // namespace lockwatch
