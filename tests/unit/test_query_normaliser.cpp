#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/query_normaliser.hpp"

namespace lockwatch {
namespace {

struct Case {
  std::string input;
  std::string expected;
};

void check_table(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    CAPTURE(c.input);
    const std::string once = normalise_query(c.input);
    CHECK(once == c.expected);
    CHECK(normalise_query(once) == once);
    CHECK(once.size() <= c.input.size());
  }
}

TEST_CASE("normalise_query masks string constants") {
  SUBCASE("standard strings with '' doubling") {
    check_table({
        {"SELECT * FROM users WHERE password = 'hunter2' AND id = 42",
         "SELECT * FROM users WHERE password = ? AND id = ?"},
        {"ALTER ROLE app PASSWORD 'x''y'", "ALTER ROLE app PASSWORD ?"},
        {"SELECT ''", "SELECT ?"},
        {"SELECT ''''", "SELECT ?"},
        {"SELECT 'it''s','x'", "SELECT ?,?"},
        {"SELECT 'a' 'b'", "SELECT ? ?"},
        {"SELECT date '2024-01-01'", "SELECT date ?"},
        // standard_conforming_strings=on: a backslash does not escape the quote.
        {"SELECT 'a\\' , 'b'", "SELECT ? , ?"},
    });
  }
  SUBCASE("escape strings with backslash escapes") {
    check_table({
        {"SELECT E'it\\'s secret'", "SELECT ?"},
        {"SELECT e'it\\'s secret'", "SELECT ?"},
        {"SELECT E'a\\\\' , 'b'", "SELECT ? , ?"},
        {"SELECT E'x''y'", "SELECT ?"},
        {"SELECT E'\\\\\\''", "SELECT ?"},
        {"SELECT 1 FROM t WHERE a=E'x'", "SELECT ? FROM t WHERE a=?"},
        {"SELECT E'x'E'y'", "SELECT ??"},
    });
  }
  SUBCASE("bit, hex, national and Unicode strings") {
    check_table({
        {"SELECT B'1010', b'01'", "SELECT ?, ?"},
        {"SELECT X'1F', x'ff'", "SELECT ?, ?"},
        {"SELECT N'nat', n'nat'", "SELECT ?, ?"},
        {"SELECT U&'d\\0061t\\+000061'", "SELECT ?"},
        {"SELECT u&'x'", "SELECT ?"},
        {"SELECT U&'d!0061t' UESCAPE '!'", "SELECT ? UESCAPE ?"},
    });
  }
  SUBCASE("prefix letters only count at the start of a token") {
    check_table({
        {"SELECT name'x'", "SELECT name?"},
        {"SELECT ex'1'", "SELECT ex?"},
        // `nameE` is an identifier, so the quote starts a standard string, as in PostgreSQL.
        {"SELECT nameE'a\\'c'", "SELECT nameE?c?"},
        {"SELECT e1, x, n, b, u, e FROM exam", "SELECT e1, x, n, b, u, e FROM exam"},
        {"SELECT U&\"d\\0061t\"", "SELECT U&\"d\\0061t\""},
        {"SELECT u & 'x'", "SELECT u & ?"},
    });
  }
}

TEST_CASE("normalise_query masks dollar quotes but keeps parameters") {
  check_table({
      {"SELECT $$secret$$", "SELECT ?"},
      {"SELECT $fn$ secret $fn$, $1, t1.c2 FROM t1", "SELECT ?, $1, t1.c2 FROM t1"},
      {"SELECT $a$ $b$ inner $b$ $a$", "SELECT ?"},
      {"SELECT $a$x$A$y$a$", "SELECT ?"},
      {"SELECT $_t1$x$_t1$", "SELECT ?"},
      {"SELECT $a$$a$", "SELECT ?"},
      {"SELECT $$it's$$", "SELECT ?"},
      {"SELECT $\xc3\xa9$x$\xc3\xa9$", "SELECT ?"},
      {"SELECT $1 + $23", "SELECT $1 + $23"},
      {"SELECT $1$", "SELECT $1$"},
      {"SELECT a$b, c$$ FROM t", "SELECT a$b, c$$ FROM t"},
      {"SELECT $", "SELECT $"},
      {"SELECT $abc", "SELECT $abc"},
      // A tag cannot start with a digit, so `$1x$` is a parameter followed by `x$`.
      {"SELECT $1x$", "SELECT $1x$"},
  });
}

TEST_CASE("normalise_query masks numeric literals but not digits in identifiers") {
  SUBCASE("decimal forms") {
    check_table({
        {"SELECT 42, 3.14, .5, 1e10, 1.5E-3, 2e+5, 1., 1.e5", "SELECT ?, ?, ?, ?, ?, ?, ?, ?"},
        {"SELECT x FROM t LIMIT 10 OFFSET 20", "SELECT x FROM t LIMIT ? OFFSET ?"},
        {"SELECT 1+2*3/4", "SELECT ?+?*?/?"},
        {"SELECT 5::int", "SELECT ?::int"},
        {"SELECT arr[1:2]", "SELECT arr[?:?]"},
        {"SELECT -42", "SELECT -?"},
        {"SELECT a-1", "SELECT a-?"},
        {"FOR i IN 1..10 LOOP", "FOR i IN ?..? LOOP"},
    });
  }
  SUBCASE("PostgreSQL 16 radix prefixes and underscores") {
    check_table({
        {"SELECT 0x1F, 0o17, 0b101, 0X_FF, 0B1_0", "SELECT ?, ?, ?, ?, ?"},
        {"SELECT 1_000_000, 1_000.5_5, 1e1_0", "SELECT ?, ?, ?"},
    });
  }
  SUBCASE("digits inside identifiers stay") {
    check_table({
        {"SELECT table1.col2, t2.col3 FROM table1", "SELECT table1.col2, t2.col3 FROM table1"},
        {"SELECT _1, a_1b2", "SELECT _1, a_1b2"},
        {"SELECT \xc3\xa9\x31", "SELECT \xc3\xa9\x31"},
    });
  }
  SUBCASE("malformed numbers mask only the numeric part") {
    check_table({
        {"SELECT 123abc", "SELECT ?abc"},
        {"SELECT 1e", "SELECT ?e"},
        {"SELECT 1e-", "SELECT ?e-"},
        {"SELECT 1_", "SELECT ?_"},
        {"SELECT 1__2", "SELECT ?__2"},
        {"SELECT 0x", "SELECT ?x"},
        {"SELECT 0xZZ", "SELECT ?xZZ"},
        {"SELECT 1.2.3", "SELECT ??"},
        {"SELECT 1E'x'", "SELECT ??"},
    });
  }
}

TEST_CASE("normalise_query keeps quoted identifiers verbatim") {
  check_table({
      {"SELECT \"Weird \"\"name\"\" 1\", \"t2\".\"c3\" FROM \"my table\"",
       "SELECT \"Weird \"\"name\"\" 1\", \"t2\".\"c3\" FROM \"my table\""},
      {"SELECT \"it's\" FROM t", "SELECT \"it's\" FROM t"},
      {"SELECT \"a--b\", \"/*x*/\"", "SELECT \"a--b\", \"/*x*/\""},
      {"SELECT \"  spaced   id  \"", "SELECT \"  spaced   id  \""},
      {"SELECT \"$$\" , 'x'", "SELECT \"$$\" , ?"},
      {"SELECT \"42\"", "SELECT \"42\""},
  });
}

TEST_CASE("normalise_query removes comments") {
  check_table({
      {"SELECT 1 -- secret 'x'\nFROM t", "SELECT ? FROM t"},
      {"SELECT /* secret */ a", "SELECT a"},
      {"SELECT a/* c */b", "SELECT a b"},
      {"SELECT /* outer /* inner */ still secret */ a", "SELECT a"},
      {"SELECT a /* x ** / *** */ b", "SELECT a b"},
      {"SELECT a/*/b*/c", "SELECT a c"},
      {"SELECT a--c\r\nb", "SELECT a b"},
      {"SELECT 'a--b', '/*c*/'", "SELECT ?, ?"},
      {"SELECT -/**/-1", "SELECT - -?"},
      {"/*lead*/SELECT 1", "SELECT ?"},
      {"SELECT 1 --trailing", "SELECT ?"},
      {"SELECT 1+--x\n2", "SELECT ?+ ?"},
  });
}

TEST_CASE("normalise_query collapses whitespace") {
  check_table({
      {"  SELECT\n\t a ,\r\n  b\f\vFROM   t  ", "SELECT a , b FROM t"},
      {"", ""},
      {"   ", ""},
      {"\n-- only a comment\n", ""},
      {"/* only */ /* comments */", ""},
  });
}

TEST_CASE("normalise_query masks unterminated tokens to the end") {
  check_table({
      {"SELECT 'abc", "SELECT ?"},
      {"SELECT 'abc''", "SELECT ?"},
      {"SELECT '", "SELECT ?"},
      {"SELECT E'abc\\'", "SELECT ?"},
      {"SELECT E'abc\\", "SELECT ?"},
      {"SELECT B'10", "SELECT ?"},
      {"SELECT U&'x", "SELECT ?"},
      {"SELECT x'", "SELECT ?"},
      {"SELECT $$abc", "SELECT ?"},
      {"SELECT $tag$abc $tag", "SELECT ?"},
      {"SELECT $tag$abc $TAG$", "SELECT ?"},
      {"SELECT \"abc", "SELECT ?"},
      {"SELECT \"abc\"\"", "SELECT ?"},
      {"SELECT a /* abc", "SELECT a"},
      {"SELECT a /* x /* y */ z", "SELECT a"},
      {"SELECT a -- abc", "SELECT a"},
  });
}

TEST_CASE("normalise_query handles arbitrary bytes") {
  using namespace std::string_literals;
  check_table({
      {"SELECT a\0b"s, "SELECT a\0b"s},
      {"SELECT 'a\0b'"s, "SELECT ?"},
      {"SELECT \0"s, "SELECT \0"s},
      {"\0\0"s, "\0\0"s},
      {"SELECT $\0$"s, "SELECT $\0$"s},
      {"SELECT \xff\xfe FROM t", "SELECT \xff\xfe FROM t"},
      {"SELECT 'a\xff' FROM \"\xc3\"", "SELECT ? FROM \"\xc3\""},
      {"SELECT caf\xc3\xa9, \"na\xc3\xafve\" FROM t\xc3\xabst WHERE x = 'r\xc3\xa9sum\xc3\xa9'",
       "SELECT caf\xc3\xa9, \"na\xc3\xafve\" FROM t\xc3\xabst WHERE x = ?"},
  });
}

TEST_CASE("normalise_query handles degenerate token boundaries") {
  check_table({
      {"$a$$", "?"},
      {"$$$", "?"},
      {"0x_", "?x_"},
      {"..5", "..?"},
      {".", "."},
  });
}

TEST_CASE("normalise_query never leaks a secret placed in any literal or comment") {
  const std::vector<std::string> secrets = {
      "hunter2", "Tr0ub4dor&3", "s3cr3t with spaces", "geheim-\xc3\xbc!", "42", "0x1F", "1.5e-3"};
  const std::vector<std::string> templates = {"'S'",
                                              "E'S'",
                                              "e'S'",
                                              "B'S'",
                                              "X'S'",
                                              "N'S'",
                                              "U&'S'",
                                              "$$S$$",
                                              "$q$S$q$",
                                              "/*S*/",
                                              "/* /* S */ */",
                                              "-- S\n",
                                              "'S",
                                              "E'S",
                                              "$$S",
                                              "$q$S",
                                              "/*S",
                                              "-- S",
                                              "\"S",
                                              "'x''S'",
                                              "E'\\'S'",
                                              "U&'S' UESCAPE '!'"};
  for (const std::string& secret : secrets) {
    for (const std::string& tmpl : templates) {
      std::string literal = tmpl;
      literal.replace(literal.find('S'), 1, secret);
      for (const std::string& query : {"SELECT a, " + literal + " FROM t", "SELECT " + literal,
                                       literal + "x", "WHERE x=" + literal + "1"}) {
        CAPTURE(query);
        const std::string out = normalise_query(query);
        CHECK(out.find(secret) == std::string::npos);
        CHECK(normalise_query(out) == out);
      }
    }
  }
}

TEST_CASE("normalise_query is linear on pathological input") {
  // A long dollar tag followed by many near-misses would be quadratic with a naive search.
  const std::string tag = "$" + std::string(20000, 'a') + "$";
  std::string near_miss = "$" + std::string(19999, 'a') + "b";
  std::string query = tag;
  for (int i = 0; i < 50; ++i) query += near_miss;
  CHECK(normalise_query(query) == "?");
  CHECK(normalise_query(std::string(200000, '$')).size() <= 200000);
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "/*";
  CHECK(normalise_query(nested).empty());
  CHECK(normalise_query(std::string(100000, '/') + std::string(100000, '*')) ==
        std::string(99999, '/'));
}

}  // namespace
}  // namespace lockwatch
