#include "core/ddl_classifier.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <tuple>

#include "core/safer_forms.hpp"
#include "core/statement_rules.hpp"

namespace lockwatch {
namespace {

// Statements that take no lock on any relation (what they lock, if anything, is a
// catalog row or a non-relation object).
constexpr std::array<std::string_view, 33> k_lock_free = {"VariableShowStmt",
                                                          "AlterFunctionStmt",
                                                          "CreateRoleStmt",
                                                          "AlterRoleStmt",
                                                          "AlterRoleSetStmt",
                                                          "DropRoleStmt",
                                                          "GrantStmt",
                                                          "GrantRoleStmt",
                                                          "AlterDefaultPrivilegesStmt",
                                                          "CreateEnumStmt",
                                                          "AlterEnumStmt",
                                                          "CreateDomainStmt",
                                                          "DefineStmt",
                                                          "CompositeTypeStmt",
                                                          "CreateRangeStmt",
                                                          "CheckPointStmt",
                                                          "NotifyStmt",
                                                          "ListenStmt",
                                                          "UnlistenStmt",
                                                          "DiscardStmt",
                                                          "CreateEventTrigStmt",
                                                          "AlterEventTrigStmt",
                                                          "AlterDatabaseSetStmt",
                                                          "AlterDatabaseStmt",
                                                          "CreateCastStmt",
                                                          "CreateConversionStmt",
                                                          "CreatedbStmt",
                                                          "DropdbStmt",
                                                          "AlterSystemStmt",
                                                          "CreateTableSpaceStmt",
                                                          "CreatePublicationStmt",
                                                          "CreateFdwStmt",
                                                          "CreateForeignServerStmt"};

// Statements PostgreSQL refuses inside a transaction block.
constexpr std::array<std::string_view, 4> k_own_transaction = {
    "CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt"};

bool one_of(std::string_view tag, std::span<const std::string_view> tags) {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// The statement's text without surrounding whitespace and leading comments, and where it
// starts.
std::pair<std::string, std::size_t> statement_text(std::string_view sql, std::size_t location,
                                                   std::size_t length) {
  std::string_view text = location < sql.size() ? sql.substr(location) : std::string_view{};
  if (length > 0) text = text.substr(0, length);
  const std::size_t full = text.size();
  for (;;) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (text.starts_with("--")) {
      const auto end = text.find('\n');
      text.remove_prefix(end == std::string_view::npos ? text.size() : end);
    } else if (text.starts_with("/*")) {
      const auto end = text.find("*/");
      text.remove_prefix(end == std::string_view::npos ? text.size() : end + 2);
    } else {
      break;
    }
  }
  const std::size_t start = location + (full - text.size());
  while (!text.empty() && (is_space(text.back()) || text.back() == ';')) text.remove_suffix(1);
  return {std::string(text), start};
}

bool zero_setting(const JsonValue& args) {
  if (args.items().size() != 1) return false;
  const JsonValue& value = node_fields(args.items()[0]);
  if (value.has("ival")) return !value["ival"].has("ival");
  const std::string& text = value["sval"]["sval"].string();
  return text == "0" || text == "0s" || text == "0ms" || text == "0min";
}

// The value of SET search_path TO a, "B": each name quoted as it needs to be.
std::string search_path_value(const JsonValue& args) {
  std::string value;
  for (const JsonValue& arg : args.items()) {
    const std::string& name = node_fields(arg)["sval"]["sval"].string();
    value += (value.empty() ? "" : ", ") + RelationName{"", name}.sql();
  }
  return value;
}

void classify_set(const JsonValue& f, ClassifiedStatement& out) {
  const std::string& kind = f["kind"].string();
  out.kind = kind == "VAR_SET_VALUE" ? "SET" : "RESET";
  const std::string& name = f["name"].string();
  if (kind == "VAR_RESET_ALL") {
    out.effect = SessionEffect::clears_lock_timeout;
    out.search_path = "";
  } else if (name == "lock_timeout") {
    const bool sets = kind == "VAR_SET_VALUE" && !zero_setting(f["args"]);
    out.effect = sets ? SessionEffect::sets_lock_timeout : SessionEffect::clears_lock_timeout;
  } else if (name == "search_path") {
    out.search_path = kind == "VAR_SET_VALUE" ? search_path_value(f["args"]) : "";
  }
}

void classify_transaction(const JsonValue& f, ClassifiedStatement& out) {
  const std::string& kind = f["kind"].string();
  if (kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START") {
    out.kind = "BEGIN";
    out.effect = SessionEffect::begin;
  } else if (kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK" ||
             kind == "TRANS_STMT_PREPARE") {
    out.kind = kind == "TRANS_STMT_COMMIT" ? "COMMIT" : "ROLLBACK";
    out.effect = SessionEffect::end;
  } else {
    out.kind = "SAVEPOINT";
  }
}

// Node tags are "AlterTableStmt"; the kind shown until a classifier names it better.
std::string default_kind(std::string_view tag) {
  std::string kind(tag.ends_with("Stmt") ? tag.substr(0, tag.size() - 4) : tag);
  return kind;
}

void classify_lock_free(std::string_view tag, ClassifiedStatement& out) {
  out.needs_own_transaction = one_of(tag, k_own_transaction);
}

void classify_one(std::string_view tag, const JsonValue& f, std::string_view sql,
                  ClassifiedStatement& out) {
  out.kind = default_kind(tag);
  if (tag == "AlterTableStmt") return classify_alter_table(f, out);
  if (tag == "RenameStmt") return classify_rename(f, out);
  if (tag == "AlterObjectSchemaStmt") return classify_alter_schema(f, out);
  if (tag == "IndexStmt") return classify_create_index(f, out);
  if (tag == "DropStmt") return classify_drop(f, out);
  if (tag == "TruncateStmt") return classify_truncate(f, out);
  if (tag == "ReindexStmt") return classify_reindex(f, out);
  if (tag == "ClusterStmt") return classify_cluster(f, out);
  if (tag == "VacuumStmt") return classify_vacuum(f, out);
  if (tag == "RefreshMatViewStmt") return classify_refresh(f, out);
  if (tag == "LockStmt") return classify_lock(f, out);
  if (tag == "CreateTrigStmt" || tag == "CreatePolicyStmt" || tag == "AlterPolicyStmt" ||
      tag == "RuleStmt" || tag == "CreateStatsStmt") {
    return classify_table_object(tag, f, out);
  }
  if (tag == "CommentStmt") return classify_comment(f, out);
  if (tag == "CreateStmt") return classify_create_table(f, out);
  if (tag == "CreateTableAsStmt") return classify_create_table_as(f, sql, out);
  if (tag == "CreateFunctionStmt") return classify_function(f, out);
  if (tag == "ViewStmt") return classify_view(f, out);
  if (tag == "CreateSeqStmt" || tag == "AlterSeqStmt") return classify_sequence(tag, f, out);
  if (tag == "SelectStmt" || tag == "InsertStmt" || tag == "UpdateStmt" || tag == "DeleteStmt" ||
      tag == "MergeStmt" || tag == "CopyStmt" || tag == "ExplainStmt") {
    return classify_query(tag, f, sql, out);
  }
  if (tag == "VariableSetStmt") return classify_set(f, out);
  if (tag == "TransactionStmt") return classify_transaction(f, out);
  if (tag == "CreateSchemaStmt" && !f.has("schemaElts")) return;
  if (one_of(tag, k_lock_free)) return classify_lock_free(tag, out);
  out.runs_code = tag == "DoStmt" || tag == "CallStmt";
  mark_unclassified(out, f, "pg_lockwatch does not know the locks of " + out.kind);
}

}  // namespace

Expected<std::vector<ClassifiedStatement>> classify_statements(std::string_view parse_tree,
                                                               std::string_view sql) {
  const auto tree = parse_json(parse_tree);
  if (!tree) return Error{"cannot read the parse tree: " + tree.error()};
  if (!tree->is_object()) return Error{"cannot read the parse tree: not an object"};
  std::vector<ClassifiedStatement> statements;
  for (const JsonValue& raw : (*tree)["stmts"].items()) {
    ClassifiedStatement s;
    s.number = static_cast<int>(statements.size()) + 1;
    std::tie(s.sql, s.offset) =
        statement_text(sql, static_cast<std::size_t>(raw["stmt_location"].integer()),
                       static_cast<std::size_t>(raw["stmt_len"].integer()));
    const std::string_view tag = node_tag(raw["stmt"]);
    classify_one(tag, node_fields(raw["stmt"]), sql, s);
    suggest_safer_form(tag, node_fields(raw["stmt"]), s);
    statements.push_back(std::move(s));
  }
  return statements;
}

LockMode strongest_mode(const ClassifiedStatement& statement) {
  LockMode mode = LockMode::access_share;
  for (const StatementLock& t : statement.locks) {
    mode = stronger(mode, t.mode);
    for (const auto& [reach, reach_mode] : t.reaches) mode = stronger(mode, reach_mode);
  }
  return mode;
}

}  // namespace lockwatch
