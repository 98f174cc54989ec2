#include <doctest/doctest.h>

#include "core/pg_array.hpp"

namespace lockwatch {
namespace {

using Texts = std::vector<std::optional<std::string>>;
using Ints = std::vector<std::optional<std::int64_t>>;

TEST_SUITE("PostgreSQL arrays") {
  TEST_CASE("text arrays as array_out writes them") {
    CHECK(parse_text_array("{}").empty());
    CHECK(parse_text_array("{AccessShareLock,ExclusiveLock}") ==
          Texts{"AccessShareLock", "ExclusiveLock"});
    CHECK(parse_text_array(R"({"a b","x\"y","back\\slash",NULL,"NULL"})") ==
          Texts{"a b", "x\"y", "back\\slash", std::nullopt, "NULL"});
    CHECK(parse_text_array(R"({"",x})") == Texts{"", "x"});
  }

  TEST_CASE("int8 arrays, with NULLs and negative codes") {
    CHECK(parse_int_array("{12597,-21474836484,NULL}") == Ints{12597, -21474836484, std::nullopt});
    CHECK(parse_int_array("{1,x,9999999999999999999}") == Ints{1, std::nullopt, std::nullopt});
  }

  TEST_CASE("boolean arrays") {
    CHECK(parse_bool_array("{t,f,t}") == std::vector<bool>{true, false, true});
  }

  TEST_CASE("malformed input yields what could be read, never more") {
    CHECK(parse_text_array("").empty());
    CHECK(parse_text_array("not an array").empty());
    CHECK(parse_text_array("{a,b") == Texts{"a", "b"});
    CHECK(parse_text_array("{\"unterminated") == Texts{"unterminated"});
    CHECK(parse_text_array("{a,,b}") == Texts{"a", "", "b"});
  }
}

}  // namespace
}  // namespace lockwatch
