#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/arguments.hpp"

namespace lockwatch {
namespace {

using Strings = std::vector<std::string>;

const std::vector<OptionSpec> k_specs = {
    {"config", true, false, "read this config file"},
    {"dsn", true, false, "connect here"},
    {"json", false, false, "print JSON"},
    {"set", true, true, "override a config key"},
    {"verbose", false, true, "more output; repeat for more"},
};

Arguments parse_ok(const Strings& args) {
  const auto parsed = parse_arguments(args, k_specs);
  const std::string error = parsed ? std::string() : parsed.error();
  INFO("error: ", error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::string error_of(const Strings& args) {
  const auto parsed = parse_arguments(args, k_specs);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

TEST_SUITE("arguments") {
  TEST_CASE("no arguments give no options and no positionals") {
    const Arguments a = parse_ok({});
    CHECK(a.values.empty());
    CHECK(a.positional.empty());
    CHECK_FALSE(a.has("dsn"));
    CHECK(a.get("dsn", "fallback") == "fallback");
    CHECK(a.all("set").empty());
  }

  TEST_CASE("an option's value may follow as the next argument or after =") {
    struct Case {
      const char* what;
      Strings args;
      std::string expected;
    };
    const Case cases[] = {
        {"next argument", {"--dsn", "host=db port=5432"}, "host=db port=5432"},
        {"after =", {"--dsn=host=db port=5432"}, "host=db port=5432"},
        {"after = with more =", {"--dsn=a==b="}, "a==b="},
        {"URI",
         {"--dsn", "postgresql://u@h/db?sslmode=require"},
         "postgresql://u@h/db?sslmode=require"},
        {"next argument that looks like a flag", {"--dsn", "-"}, "-"},
        {"empty after =", {"--dsn="}, ""},
        {"empty next argument", {"--dsn", ""}, ""},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      const Arguments a = parse_ok(c.args);
      CHECK(a.has("dsn"));
      CHECK(a.all("dsn") == Strings{c.expected});
      CHECK(a.get("dsn", "fallback") == c.expected);
      CHECK(a.positional.empty());
    }
  }

  TEST_CASE("a flag is present with an empty value") {
    const Arguments a = parse_ok({"--json"});
    CHECK(a.has("json"));
    CHECK(a.all("json") == Strings{""});
    CHECK_FALSE(a.has("verbose"));
  }

  TEST_CASE("a repeatable option collects every value in order") {
    const Arguments a = parse_ok({"--set", "watch.interval=5s", "--set=log.level=debug",
                                  "--verbose", "--verbose", "--set", "x=y"});
    CHECK(a.all("set") == Strings{"watch.interval=5s", "log.level=debug", "x=y"});
    CHECK(a.get("set") == "x=y");
    CHECK(a.all("verbose").size() == 2);
  }

  TEST_CASE("options and positional arguments mix") {
    const Arguments a = parse_ok({"first", "--json", "second", "--dsn", "x", "third"});
    CHECK(a.positional == Strings{"first", "second", "third"});
    CHECK(a.has("json"));
    CHECK(a.get("dsn") == "x");
  }

  TEST_CASE("arguments not starting with -- are positional") {
    const Arguments a = parse_ok({"-", "-x", "file.toml", "-dsn"});
    CHECK(a.positional == Strings{"-", "-x", "file.toml", "-dsn"});
    CHECK(a.values.empty());
  }

  TEST_CASE("-- ends the options") {
    SUBCASE("what follows is positional, even if it looks like an option") {
      const Arguments a = parse_ok({"--json", "--", "--dsn", "x", "--bogus", "--"});
      CHECK(a.has("json"));
      CHECK_FALSE(a.has("dsn"));
      CHECK(a.positional == Strings{"--dsn", "x", "--bogus", "--"});
    }
    SUBCASE("positionals before -- come first") {
      const Arguments a = parse_ok({"a", "--", "b"});
      CHECK(a.positional == Strings{"a", "b"});
    }
    SUBCASE("nothing after --") {
      const Arguments a = parse_ok({"--json", "--"});
      CHECK(a.positional.empty());
    }
  }

  TEST_CASE("mistakes are reported in one readable line") {
    struct Case {
      const char* what;
      Strings args;
      std::string expected;
    };
    const Case cases[] = {
        {"unknown option", {"--bogus"}, "unknown option --bogus"},
        {"unknown option with a value", {"--bogus=1"}, "unknown option --bogus"},
        {"unknown option after good ones",
         {"--json", "--dsn", "x", "--confg", "a"},
         "unknown option --confg"},
        {"option names are case-sensitive", {"--JSON"}, "unknown option --JSON"},
        {"missing value at the end", {"--dsn"}, "--dsn needs a value"},
        {"missing value of a repeatable option", {"--set", "a=1", "--set"}, "--set needs a value"},
        {"flag given a value", {"--json=yes"}, "--json takes no value"},
        {"flag given an empty value", {"--json="}, "--json takes no value"},
        {"value option given twice", {"--dsn", "a", "--dsn", "b"}, "--dsn given twice"},
        {"value option given twice, once with =", {"--dsn=a", "--dsn", "b"}, "--dsn given twice"},
        {"flag given twice", {"--json", "--json"}, "--json given twice"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      CHECK(error_of(c.args) == c.expected);
    }
  }

  TEST_CASE("describe_options lines up one line per option") {
    const std::vector<OptionSpec> specs = {
        {"config", true, false, "read this config file"},
        {"json", false, false, "print JSON"},
        {"an-option-with-a-very-long-name", true, false, "still readable"},
    };
    CHECK(describe_options(specs) ==
          "  --config VALUE            read this config file\n"
          "  --json                    print JSON\n"
          "  --an-option-with-a-very-long-name VALUE  still readable\n");
  }
}

}  // namespace
}  // namespace lockwatch
