#include "core/ddl_volatility.hpp"

#include <algorithm>
#include <array>

#include "core/parse_tree.hpp"

namespace lockwatch {
namespace {

// Built-in functions that take no relation lock and are STABLE or IMMUTABLE.
constexpr auto k_stable = std::to_array<std::string_view>({"abs",
                                                           "age",
                                                           "array_agg",
                                                           "array_append",
                                                           "array_length",
                                                           "array_position",
                                                           "array_remove",
                                                           "array_to_string",
                                                           "avg",
                                                           "bit_and",
                                                           "bit_or",
                                                           "bool_and",
                                                           "bool_or",
                                                           "btrim",
                                                           "cardinality",
                                                           "ceil",
                                                           "ceiling",
                                                           "char_length",
                                                           "chr",
                                                           "concat",
                                                           "concat_ws",
                                                           "count",
                                                           "current_date",
                                                           "current_setting",
                                                           "date_part",
                                                           "date_trunc",
                                                           "decode",
                                                           "encode",
                                                           "every",
                                                           "extract",
                                                           "floor",
                                                           "format",
                                                           "generate_series",
                                                           "greatest",
                                                           "initcap",
                                                           "int4",
                                                           "int8",
                                                           "json_agg",
                                                           "json_build_array",
                                                           "json_build_object",
                                                           "json_object_agg",
                                                           "jsonb_agg",
                                                           "jsonb_build_array",
                                                           "jsonb_build_object",
                                                           "jsonb_object_agg",
                                                           "jsonb_set",
                                                           "jsonb_strip_nulls",
                                                           "lag",
                                                           "lead",
                                                           "least",
                                                           "left",
                                                           "length",
                                                           "lower",
                                                           "lpad",
                                                           "ltrim",
                                                           "make_date",
                                                           "make_interval",
                                                           "make_timestamp",
                                                           "make_timestamptz",
                                                           "max",
                                                           "md5",
                                                           "min",
                                                           "mod",
                                                           "now",
                                                           "nullif",
                                                           "octet_length",
                                                           "overlaps",
                                                           "percentile_cont",
                                                           "pg_backend_pid",
                                                           "pg_blocking_pids",
                                                           "current_database",
                                                           "current_schema",
                                                           "version",
                                                           "position",
                                                           "power",
                                                           "rank",
                                                           "regexp_match",
                                                           "regexp_replace",
                                                           "regexp_split_to_array",
                                                           "repeat",
                                                           "replace",
                                                           "reverse",
                                                           "right",
                                                           "round",
                                                           "row_number",
                                                           "row_to_json",
                                                           "rpad",
                                                           "rtrim",
                                                           "sign",
                                                           "split_part",
                                                           "sqrt",
                                                           "statement_timestamp",
                                                           "string_agg",
                                                           "strpos",
                                                           "substr",
                                                           "substring",
                                                           "sum",
                                                           "to_char",
                                                           "to_date",
                                                           "to_json",
                                                           "to_jsonb",
                                                           "to_number",
                                                           "to_timestamp",
                                                           "transaction_timestamp",
                                                           "trim",
                                                           "trunc",
                                                           "unnest",
                                                           "upper"});

constexpr std::array<std::string_view, 8> k_volatile = {
    "clock_timestamp", "gen_random_uuid", "pg_current_xact_id", "pg_sleep",
    "random",          "setseed",         "timeofday",          "txid_current"};

constexpr std::array<std::string_view, 11> k_advisory = {
    "pg_advisory_lock",          "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",     "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",      "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
    "pg_advisory_unlock",        "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all"};

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

FunctionKind function_kind(std::string_view schema, std::string_view name) {
  // uuid-ossp's functions live in the schema the extension was created in.
  if (name.starts_with("uuid_generate_")) return FunctionKind::volatile_call;
  if (!schema.empty() && schema != "pg_catalog") return FunctionKind::unknown;
  if (name == "nextval" || name == "setval" || name == "currval") return FunctionKind::sequence;
  if (listed(k_advisory, name)) return FunctionKind::advisory;
  if (listed(k_volatile, name)) return FunctionKind::volatile_call;
  if (listed(k_stable, name)) return FunctionKind::stable;
  return FunctionKind::unknown;
}

std::string volatile_function(const JsonValue& expr) {
  std::string found;
  for_each_node(expr, [&](std::string_view tag, const JsonValue& f) {
    if (!found.empty() || tag != "FuncCall") return;
    const RelationName name = list_name(f["funcname"]);
    switch (function_kind(name.schema, name.name)) {
      case FunctionKind::stable:
        return;
      case FunctionKind::unknown:
        found = name.sql() + "() (unless it is STABLE or IMMUTABLE)";
        return;
      default:
        found = name.sql() + "()";
    }
  });
  return found;
}

}  // namespace lockwatch
