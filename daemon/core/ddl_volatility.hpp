#pragma once

#include <string>
#include <string_view>

#include "core/json_reader.hpp"

namespace lockwatch {

// Which built-in functions a migration may call, as far as locking and rewrites go.
enum class FunctionKind {
  unknown,        // not a built-in pg_lockwatch knows: it may lock anything, or be volatile
  stable,         // built-in, STABLE or IMMUTABLE, and takes no relation lock
  volatile_call,  // built-in and VOLATILE (a default of it rewrites the table), no relation lock
  advisory,       // takes or releases an advisory lock
  sequence,       // nextval, setval, currval: locks the sequence
};

// What the function of this name (in pg_catalog, or unqualified) is.
FunctionKind function_kind(std::string_view schema, std::string_view name);

// The first function call in `expr` (a parse-tree expression) whose value may change from
// row to row, as "random()", or "f() (unless it is STABLE or IMMUTABLE)" for a function
// pg_lockwatch does not know; empty when there is none.
std::string volatile_function(const JsonValue& expr);

}  // namespace lockwatch
