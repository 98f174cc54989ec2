#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/json_reader.hpp"
#include "core/statement_lock.hpp"

namespace lockwatch {

// Reading libpg_query's JSON parse tree, where a node is {"NodeType": {fields...}} and
// fields at their default value (false, 0, empty) are left out.

// "AlterTableStmt" of {"AlterTableStmt": {...}}; empty for anything else.
std::string_view node_tag(const JsonValue& node);

// The fields of a node ({...} above); a null value when `node` is not a node.
const JsonValue& node_fields(const JsonValue& node);

// A RangeVar's fields as a relation name.
RelationName range_var_name(const JsonValue& range_var_fields);

// A qualified name given as a list of String nodes ([schema,] name); the last two parts.
RelationName list_name(const JsonValue& string_nodes);

// The text of a String node ({"String": {"sval": "x"}}); empty otherwise.
std::string string_node(const JsonValue& node);

// The last part of a list of String nodes (a function's name without its schema).
std::string last_name(const JsonValue& string_nodes);

// An integer constant (A_Const, possibly cast); nullopt for anything else. `sql` is the
// text the tree was parsed from: libpg_query 15-4.0 writes a negative int constant as if
// it were 0 ({"ival": {}}), so such a constant is read back from its location.
std::optional<std::int64_t> integer_constant(const JsonValue& node, std::string_view sql);

// Calls `visit(tag, fields)` for `value` and every node nested in it, depth first.
void for_each_node(const JsonValue& value,
                   const std::function<void(std::string_view, const JsonValue&)>& visit);

}  // namespace lockwatch
