#include "core/parse_tree.hpp"

#include <cctype>
#include <charconv>

namespace lockwatch {
namespace {

bool looks_like_tag(const std::string& key) {
  return !key.empty() && std::isupper(static_cast<unsigned char>(key[0]));
}

std::optional<std::int64_t> parse_integer(const std::string& text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The integer literal at byte `location` of `sql`: "-5" or "0".
std::optional<std::int64_t> literal_at(std::string_view sql, std::int64_t location) {
  if (location < 0 || static_cast<std::size_t>(location) >= sql.size()) return std::nullopt;
  std::size_t end = static_cast<std::size_t>(location);
  if (sql[end] == '-') ++end;
  while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
  return parse_integer(std::string(sql.substr(location, end - location)));
}

}  // namespace

std::string_view node_tag(const JsonValue& node) {
  if (!node.is_object() || node.keys().size() != 1 || !looks_like_tag(node.keys()[0])) return {};
  return node.keys()[0];
}

const JsonValue& node_fields(const JsonValue& node) {
  static const JsonValue k_null;
  return node_tag(node).empty() ? k_null : node.items()[0];
}

RelationName range_var_name(const JsonValue& rv) {
  return RelationName{rv["schemaname"].string(), rv["relname"].string()};
}

std::string string_node(const JsonValue& node) {
  return node["String"]["sval"].string();
}

RelationName list_name(const JsonValue& nodes) {
  const auto& items = nodes.items();
  if (items.empty()) return {};
  RelationName name{"", string_node(items.back())};
  if (items.size() >= 2) name.schema = string_node(items[items.size() - 2]);
  return name;
}

std::string last_name(const JsonValue& nodes) {
  return nodes.items().empty() ? std::string() : string_node(nodes.items().back());
}

std::optional<std::int64_t> integer_constant(const JsonValue& node, std::string_view sql) {
  const std::string_view tag = node_tag(node);
  const JsonValue& f = node_fields(node);
  if (tag == "TypeCast") return integer_constant(f["arg"], sql);
  if (tag == "A_Expr" && f["kind"].string() == "AEXPR_OP" && !f.has("lexpr") &&
      last_name(f["name"]) == "-") {
    const auto value = integer_constant(f["rexpr"], sql);
    return value ? std::optional(-*value) : std::nullopt;
  }
  if (tag != "A_Const") return std::nullopt;
  if (f.has("fval")) return parse_integer(f["fval"]["fval"].string());
  if (!f.has("ival")) return std::nullopt;
  if (f["ival"].has("ival")) return f["ival"]["ival"].integer();
  return literal_at(sql, f["location"].integer());  // 0, or negative (see the header)
}

void for_each_node(const JsonValue& value,
                   const std::function<void(std::string_view, const JsonValue&)>& visit) {
  const std::string_view tag = node_tag(value);
  if (!tag.empty()) visit(tag, value.items()[0]);
  for (const JsonValue& item : value.items()) for_each_node(item, visit);
}

}  // namespace lockwatch
