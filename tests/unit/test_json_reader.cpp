#include <doctest/doctest.h>

#include <string>

#include "core/json_reader.hpp"

namespace lockwatch {
namespace {

TEST_SUITE("json reader") {
  TEST_CASE("values of every kind, and lenient access to what is absent") {
    const auto doc = parse_json(
        R"({"s": "a\"b\\c\u00e9\ud83d\ude00", "n": -12, "f": 1.5e2, "t": true, "z": null,
            "list": [1, {"k": []}], "empty": {}})");
    REQUIRE(doc.has_value());
    CHECK((*doc)["s"].string() == "a\"b\\c\xC3\xA9\xF0\x9F\x98\x80");
    CHECK((*doc)["n"].integer() == -12);
    CHECK((*doc)["f"].number() == 150.0);
    CHECK((*doc)["f"].integer() == 0);  // not a whole number as written
    CHECK((*doc)["t"].boolean());
    CHECK((*doc)["z"].is_null());
    CHECK((*doc)["list"].items().size() == 2);
    CHECK((*doc)["list"].items()[1]["k"].is_array());
    CHECK((*doc)["empty"].is_object());
    CHECK((*doc)["absent"]["deeper"].string().empty());
    CHECK((*doc)["s"]["not an object"].is_null());
    CHECK_FALSE((*doc)["absent"].boolean());
    CHECK(doc->has("z"));
    CHECK_FALSE(doc->has("absent"));
    CHECK(doc->keys().size() == 7);
  }

  TEST_CASE("malformed documents are refused with the offset") {
    struct Case {
      const char* text;
      const char* error;
    };
    const Case cases[] = {
        {"", "invalid JSON at offset 0: unexpected end of input"},
        {"{\"a\" 1}", "invalid JSON at offset 5: expected ':'"},
        {"[1, 2", "invalid JSON at offset 5: expected ']'"},
        {"\"abc", "invalid JSON at offset 4: unterminated string"},
        {"{} x", "invalid JSON at offset 3: unexpected text after the value"},
        {"[tru]", "invalid JSON at offset 1: expected a value"},
        {"\"\\q\"", "invalid JSON at offset 3: invalid escape"},
        {"\"\\u12\"", "invalid JSON at offset 3: invalid \\u escape"},
        {"{1: 2}", "invalid JSON at offset 1: expected a member name"},
        {"\"a\nb\"", "invalid JSON at offset 3: control character in a string"},
        {"-", "invalid JSON at offset 0: expected a value"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto doc = parse_json(c.text);
      REQUIRE_FALSE(doc.has_value());
      CHECK(doc.error() == c.error);
    }
  }

  TEST_CASE("nesting is bounded, so a hostile document cannot exhaust the stack") {
    CHECK(parse_json(std::string(1500, '[') + std::string(1500, ']')).has_value());
    const auto deep = parse_json(std::string(100'000, '['));
    REQUIRE_FALSE(deep.has_value());
    CHECK(deep.error().find("nested too deeply") != std::string::npos);
  }
}

}  // namespace
}  // namespace lockwatch
