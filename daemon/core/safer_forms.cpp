#include "core/safer_forms.hpp"

#include <cctype>

#include "core/parse_tree.hpp"

namespace lockwatch {
namespace {

const char* const k_brief = ": brief, it reads no rows";
const char* const k_online = ": reads and writes go on";
const char* const k_no_block = " (cannot run inside a transaction block)";

std::string on(LockMode mode, const RelationName& table) {
  return sql_name(mode) + " on " + table.sql();
}

// The statement's text with `insert` put at byte `location` of the whole input.
std::string inserted(const ClassifiedStatement& s, std::int64_t location,
                     const std::string& insert) {
  const auto at = static_cast<std::size_t>(location) - s.offset;
  if (location < static_cast<std::int64_t>(s.offset) || at > s.sql.size()) return s.sql;
  return s.sql.substr(0, at) + insert + s.sql.substr(at);
}

// `word` as a keyword of `text` (case-insensitive, whole word): its position, or npos.
std::size_t keyword(const std::string& text, std::string_view word) {
  std::string upper = text;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::size_t at = upper.find(word); at != std::string::npos; at = upper.find(word, at + 1)) {
    const bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(upper[at - 1]));
    const std::size_t end = at + word.size();
    const bool ends = end == upper.size() || !std::isalnum(static_cast<unsigned char>(upper[end]));
    if (starts && ends) return at;
  }
  return std::string::npos;
}

std::string after_keyword(const std::string& text, std::string_view word, const std::string& add) {
  const std::size_t at = keyword(text, word);
  if (at == std::string::npos) return "";
  return text.substr(0, at + word.size()) + " " + add + text.substr(at + word.size());
}

std::string first_column(const JsonValue& expr) {
  std::string column;
  for_each_node(expr, [&](std::string_view tag, const JsonValue& f) {
    if (column.empty() && tag == "ColumnRef") column = last_name(f["fields"]);
  });
  return column;
}

// The constraint's name, and the statement with a CONSTRAINT clause added when it had none
// (PostgreSQL's own default name, so VALIDATE can name it).
std::pair<std::string, std::string> named_constraint(const ClassifiedStatement& s,
                                                     const RelationName& table,
                                                     const JsonValue& c) {
  if (c.has("conname")) return {c["conname"].string(), s.sql};
  const bool foreign = c["contype"].string() == "CONSTR_FOREIGN";
  const std::string column =
      foreign ? string_node(c["fk_attrs"].items().empty() ? JsonValue() : c["fk_attrs"].items()[0])
              : first_column(c["raw_expr"]);
  const std::string name =
      table.name + (column.empty() ? "" : "_" + column) + (foreign ? "_fkey" : "_check");
  const RelationName quoted{"", name};
  return {name, inserted(s, c["location"].integer(), "CONSTRAINT " + quoted.sql() + " ")};
}

void not_valid_then_validate(const JsonValue& c, const RelationName& table,
                             ClassifiedStatement& s) {
  const auto [name, sql] = named_constraint(s, table, c);
  const bool foreign = c["contype"].string() == "CONSTR_FOREIGN";
  const RelationName referenced = foreign ? range_var_name(c["pktable"]) : RelationName{};
  SaferForm form;
  form.summary =
      "add the constraint NOT VALID (checked for new rows only), then VALIDATE it: "
      "the scan of existing rows runs under SHARE UPDATE EXCLUSIVE";
  const std::string add_lock =
      foreign ? on(LockMode::share_row_exclusive, table) + " and " + referenced.sql()
              : on(LockMode::access_exclusive, table);
  form.steps.push_back({sql + " NOT VALID", add_lock + k_brief});
  std::string validate_lock = on(LockMode::share_update_exclusive, table);
  if (foreign) validate_lock += ", " + on(LockMode::row_share, referenced);
  form.steps.push_back(
      {"ALTER TABLE " + table.sql() + " VALIDATE CONSTRAINT " + RelationName{"", name}.sql(),
       validate_lock + k_online});
  s.safer = form;
}

void not_null_through_check(const std::string& column, const RelationName& table,
                            ClassifiedStatement& s) {
  const std::string col = RelationName{"", column}.sql();
  const std::string check = RelationName{"", table.name + "_" + column + "_not_null"}.sql();
  const std::string alter = "ALTER TABLE " + table.sql() + " ";
  SaferForm form;
  form.summary =
      "prove the column has no NULL with a validated CHECK first: SET NOT NULL then "
      "skips its scan (PostgreSQL 12 and later)";
  form.steps = {
      {alter + "ADD CONSTRAINT " + check + " CHECK (" + col + " IS NOT NULL) NOT VALID",
       on(LockMode::access_exclusive, table) + k_brief},
      {alter + "VALIDATE CONSTRAINT " + check,
       on(LockMode::share_update_exclusive, table) + k_online},
      {alter + "ALTER COLUMN " + col + " SET NOT NULL",
       on(LockMode::access_exclusive, table) + k_brief},
      {alter + "DROP CONSTRAINT " + check, on(LockMode::access_exclusive, table) + ": brief"},
  };
  s.safer = form;
}

void unique_through_index(const JsonValue& c, const RelationName& table, ClassifiedStatement& s) {
  std::string columns;
  for (const JsonValue& key : c["keys"].items()) {
    columns += (columns.empty() ? "" : ", ") + RelationName{"", string_node(key)}.sql();
  }
  const bool primary = c["contype"].string() == "CONSTR_PRIMARY";
  const std::string name =
      c.has("conname") ? c["conname"].string() : table.name + (primary ? "_pkey" : "_key");
  const std::string quoted = RelationName{"", name}.sql();
  SaferForm form;
  form.summary = "build the index CONCURRENTLY, then make it the constraint" +
                 std::string(primary ? " (the columns must be NOT NULL already, or this step "
                                       "scans: see SET NOT NULL)"
                                     : "");
  form.steps = {
      {"CREATE UNIQUE INDEX CONCURRENTLY " + quoted + " ON " + table.sql() + " (" + columns + ")",
       on(LockMode::share_update_exclusive, table) + k_online + k_no_block},
      {"ALTER TABLE " + table.sql() + " ADD CONSTRAINT " + quoted +
           (primary ? " PRIMARY KEY" : " UNIQUE") + " USING INDEX " + quoted,
       on(LockMode::access_exclusive, table) + ": brief"},
  };
  s.safer = form;
}

void alter_table(const JsonValue& f, ClassifiedStatement& s) {
  if (f["objtype"].string() != "OBJECT_TABLE" || f["cmds"].items().size() != 1) return;
  const RelationName table = range_var_name(f["relation"]);
  const JsonValue& cmd = node_fields(f["cmds"].items()[0]);
  const std::string& subtype = cmd["subtype"].string();
  const JsonValue& def = node_fields(cmd["def"]);
  if (subtype == "AT_AddConstraint") {
    const std::string& type = def["contype"].string();
    const bool validated = !def["skip_validation"].boolean();
    if ((type == "CONSTR_CHECK" || type == "CONSTR_FOREIGN") && validated) {
      not_valid_then_validate(def, table, s);
    } else if ((type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE") && !def.has("indexname")) {
      unique_through_index(def, table, s);
    }
  } else if (subtype == "AT_SetNotNull") {
    not_null_through_check(cmd["name"].string(), table, s);
  } else if (subtype == "AT_DetachPartition" && !def["concurrent"].boolean()) {
    s.safer = SaferForm{
        "detach it CONCURRENTLY (not possible while the table has a default "
        "partition)",
        {{s.sql + " CONCURRENTLY",
          on(LockMode::share_update_exclusive, table) + k_online + k_no_block}}};
  } else if (subtype == "AT_AttachPartition") {
    s.safer = SaferForm{
        "first add a CHECK constraint to the partition that matches its bound "
        "(NOT VALID, then VALIDATE): ATTACH PARTITION then skips its scan of "
        "the partition under ACCESS EXCLUSIVE",
        {}};
  } else if (subtype == "AT_AlterColumnType") {
    s.safer = SaferForm{
        "add a new column of the new type, backfill it in batches, and swap the "
        "columns in one short transaction; or pick a binary-coercible change "
        "(varchar(n) to a longer varchar or to text), which does not rewrite",
        {}};
  } else if (subtype == "AT_AddColumn" && !s.rewrites.empty()) {
    s.safer = SaferForm{
        "add the column without the default (brief ACCESS EXCLUSIVE), SET "
        "DEFAULT for new rows (brief), then fill existing rows in batches",
        {}};
  }
}

void create_index(const JsonValue& f, ClassifiedStatement& s) {
  if (f["concurrent"].boolean() || !f["relation"]["inh"].boolean()) return;
  const std::string sql = after_keyword(s.sql, "INDEX", "CONCURRENTLY");
  if (sql.empty()) return;
  s.safer = SaferForm{
      "build it CONCURRENTLY: writes go on while it builds; if it fails it "
      "leaves an INVALID index to drop before trying again (pg_lockwatch ddl "
      "--drop-invalid)",
      {{sql, on(LockMode::share_update_exclusive, range_var_name(f["relation"])) + k_online +
                 k_no_block}}};
}

void drop(const JsonValue& f, ClassifiedStatement& s) {
  if (f["removeType"].string() != "OBJECT_INDEX" || f["concurrent"].boolean() ||
      f["objects"].items().size() != 1 || f["behavior"].string() == "DROP_CASCADE") {
    return;
  }
  const std::string sql = after_keyword(s.sql, "INDEX", "CONCURRENTLY");
  if (sql.empty()) return;
  s.safer = SaferForm{"drop it CONCURRENTLY",
                      {{sql, "SHARE UPDATE EXCLUSIVE on the index and its table" +
                                 std::string(k_online) + k_no_block}}};
}

void reindex(const JsonValue& f, ClassifiedStatement& s) {
  const std::string& kind = f["kind"].string();
  if (s.needs_own_transaction ||
      (kind != "REINDEX_OBJECT_INDEX" && kind != "REINDEX_OBJECT_TABLE")) {
    return;
  }
  const std::string object = kind == "REINDEX_OBJECT_INDEX" ? "INDEX " : "TABLE ";
  s.safer = SaferForm{"rebuild CONCURRENTLY",
                      {{"REINDEX " + object + "CONCURRENTLY " + range_var_name(f["relation"]).sql(),
                        "SHARE UPDATE EXCLUSIVE on the table and its indexes" +
                            std::string(k_online) + k_no_block}}};
}

void refresh(const JsonValue& f, ClassifiedStatement& s) {
  if (f["concurrent"].boolean() || f["skipData"].boolean()) return;
  const RelationName view = range_var_name(f["relation"]);
  s.safer = SaferForm{"refresh CONCURRENTLY (the view needs a unique index)",
                      {{"REFRESH MATERIALIZED VIEW CONCURRENTLY " + view.sql(),
                        on(LockMode::exclusive, view) + ": reads go on"}}};
}

void partition_of(const JsonValue& f, ClassifiedStatement& s) {
  if (!f.has("partbound") || f["inhRelations"].items().empty()) return;
  const RelationName parent = range_var_name(node_fields(f["inhRelations"].items()[0]));
  s.safer = SaferForm{"create the table on its own (CREATE TABLE ... (LIKE " + parent.sql() +
                          " INCLUDING ALL)), add a CHECK constraint matching the bound, then "
                          "ALTER TABLE " +
                          parent.sql() +
                          " ATTACH PARTITION ...: " + on(LockMode::share_update_exclusive, parent) +
                          " instead of ACCESS EXCLUSIVE",
                      {}};
}

void rebuild(ClassifiedStatement& s) {
  s.safer = SaferForm{
      "PostgreSQL has no online form of it; pg_repack or pg_squeeze rebuild a "
      "table with only brief ACCESS EXCLUSIVE locks",
      {}};
}

}  // namespace

void suggest_safer_form(std::string_view tag, const JsonValue& f, ClassifiedStatement& s) {
  if (tag == "AlterTableStmt") return alter_table(f, s);
  if (tag == "IndexStmt") return create_index(f, s);
  if (tag == "DropStmt") return drop(f, s);
  if (tag == "ReindexStmt") return reindex(f, s);
  if (tag == "RefreshMatViewStmt") return refresh(f, s);
  if (tag == "CreateStmt") return partition_of(f, s);
  if (tag == "ClusterStmt" || (tag == "VacuumStmt" && s.kind == "VACUUM FULL")) return rebuild(s);
}

}  // namespace lockwatch
