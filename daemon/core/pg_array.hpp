#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lockwatch {

// The elements of a one-dimensional PostgreSQL array literal as array_out writes it:
// "{a,\"b c\",NULL}" -> {"a", "b c", nullopt}. Quoted elements may hold escaped quotes and
// backslashes; an unquoted NULL is SQL NULL. Malformed input yields what could be read.
std::vector<std::optional<std::string>> parse_text_array(std::string_view literal);

// An int8[] literal: elements that are NULL or not numbers come out as nullopt.
std::vector<std::optional<std::int64_t>> parse_int_array(std::string_view literal);

// A boolean[] literal ("{t,f}"): true for "t", false for anything else.
std::vector<bool> parse_bool_array(std::string_view literal);

}  // namespace lockwatch
