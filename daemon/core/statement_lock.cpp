#include "core/statement_lock.hpp"

#include <array>
#include <cctype>

namespace lockwatch {
namespace {

struct ReachNames {
  Reach reach;
  const char* key;
  const char* prose;  // "its indexes"
};

constexpr std::array<ReachNames, 12> k_reaches = {{
    {Reach::children, "children", "partitions and children"},
    {Reach::indexes, "indexes", "indexes"},
    {Reach::toast, "toast", "TOAST table"},
    {Reach::referenced, "referenced", "tables its foreign keys reference"},
    {Reach::referenced_indexes, "referenced_indexes", "their indexes"},
    {Reach::referencing, "referencing", "tables referencing it"},
    {Reach::referencing_indexes, "referencing_indexes", "their indexes"},
    {Reach::dependents, "dependents", "views on it"},
    {Reach::sources, "sources", "what it reads if a view"},
    {Reach::source_indexes, "source_indexes", "their indexes"},
    {Reach::sequences, "sequences", "owned sequences"},
    {Reach::default_partition, "default_partition", "default partition"},
}};

const ReachNames& names(Reach reach) {
  return k_reaches[static_cast<std::size_t>(reach)];
}

bool plain_identifier(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string quoted(const std::string& name) {
  if (plain_identifier(name)) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string denoted(const StatementLock& t) {
  switch (t.denotes) {
    case Denotes::relation:
      return t.relation.sql();
    case Denotes::index_table:
      return "the table of " + t.relation.sql();
    case Denotes::referencing_tables:
      return "the tables referencing " + t.relation.sql();
  }
  return t.relation.sql();
}

}  // namespace

std::string RelationName::sql() const {
  if (typed) return name;
  return schema.empty() ? quoted(name) : quoted(schema) + "." + quoted(name);
}

std::string reach_name(Reach reach) {
  return names(reach).key;
}

std::optional<Reach> parse_reach(std::string_view name) {
  for (const ReachNames& r : k_reaches) {
    if (name == r.key) return r.reach;
  }
  return std::nullopt;
}

std::string advisory_key_text(const AdvisoryTarget& t) {
  if (t.objsubid == 2) {
    return "(" + std::to_string(static_cast<std::int32_t>(t.classid)) + ", " +
           std::to_string(static_cast<std::int32_t>(t.objid)) + ")";
  }
  const auto key = static_cast<std::int64_t>((std::uint64_t{t.classid} << 32) | t.objid);
  return std::to_string(key);
}

std::string describe_statement_lock(const StatementLock& t) {
  std::string out = denoted(t) + " " + sql_name(t.mode);
  for (const auto& [reach, mode] : t.reaches) {
    out += reach == Reach::children && mode == t.mode
               ? " with its " + std::string(names(reach).prose)
               : "; " + std::string(names(reach).prose) + " " + sql_name(mode);
  }
  if (!t.constraint.empty()) out += " (through constraint " + quoted(t.constraint) + ")";
  return out;
}

}  // namespace lockwatch
