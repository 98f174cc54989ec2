// Queries in a migration: SELECT (with or without FOR UPDATE), INSERT, UPDATE, DELETE,
// MERGE, COPY and EXPLAIN, and the built-in functions they call. Modes from "Explicit
// Locking"; the planner also locks every index of a table it reads, in the table's mode.
#include <set>

#include "core/ddl_volatility.hpp"
#include "core/statement_rules.hpp"

namespace lockwatch {
namespace {

// What a query's parse tree names: relations read, relations written, calls.
struct QueryScan {
  std::set<RelationName> read;
  std::set<RelationName> locked;                                 // FOR UPDATE / SHARE
  std::set<std::string> ctes;                                    // WITH names: not relations
  std::vector<std::pair<std::string, const JsonValue*>> writes;  // (statement tag, fields)
  std::vector<const JsonValue*> calls;
};

void scan_query(const JsonValue& value, QueryScan& q) {
  for_each_node(value, [&](std::string_view tag, const JsonValue& f) {
    if (tag == "RangeVar") q.read.insert(range_var_name(f));
    if (tag == "CommonTableExpr") q.ctes.insert(f["ctename"].string());
    if (tag == "FuncCall") q.calls.push_back(&f);
    if (tag == "LockingClause") {
      for (const JsonValue& rv : f["lockedRels"].items())
        q.locked.insert(range_var_name(node_fields(rv)));
      if (f["lockedRels"].items().empty()) q.locked.insert(RelationName{"", "*"});
    }
    if (tag == "InsertStmt" || tag == "UpdateStmt" || tag == "DeleteStmt" || tag == "MergeStmt") {
      q.writes.emplace_back(std::string(tag), &f);
    }
  });
}

bool is_cte(const QueryScan& q, const RelationName& name) {
  return name.schema.empty() && q.ctes.count(name.name) != 0;
}

StatementLock read_target(const RelationName& name, LockMode mode) {
  StatementLock t = lock_of(name, mode, "read");
  t.reaches[Reach::children] = mode;
  t.reaches[Reach::indexes] = mode;
  t.reaches[Reach::sources] = mode;  // a view: what it reads
  t.reaches[Reach::source_indexes] = mode;
  return t;
}

// The table a DML statement writes, and what its foreign keys and triggers-by-constraint
// read on other tables.
StatementLock write_target(const std::string& tag, const JsonValue& f) {
  StatementLock t = lock_of(range_var_name(f["relation"]), k_row_exclusive, "written");
  t.reaches[Reach::children] = k_row_exclusive;
  t.reaches[Reach::indexes] = k_row_exclusive;
  if (tag != "DeleteStmt") {
    t.reaches[Reach::referenced] = k_row_share;  // foreign key checks: SELECT ... FOR KEY SHARE
    t.reaches[Reach::referenced_indexes] = k_row_share;
    t.reaches[Reach::sequences] = k_row_exclusive;  // nextval() defaults
  }
  if (tag != "InsertStmt") {
    // ON DELETE / ON UPDATE actions and checks on the tables that reference it.
    t.reaches[Reach::referencing] = k_row_exclusive;
    t.reaches[Reach::referencing_indexes] = k_row_exclusive;
  }
  return t;
}

std::string write_kind(const std::string& tag) {
  if (tag == "InsertStmt") return "INSERT";
  if (tag == "UpdateStmt") return "UPDATE";
  if (tag == "DeleteStmt") return "DELETE";
  return "MERGE";
}

// The sequence a nextval('name') names, when the name is a constant.
std::optional<RelationName> sequence_argument(const JsonValue& call) {
  const auto& args = call["args"].items();
  if (args.empty()) return std::nullopt;
  const JsonValue* arg = &args[0];
  if (node_tag(*arg) == "TypeCast") arg = &node_fields(*arg)["arg"];
  const std::string& text = node_fields(*arg)["sval"]["sval"].string();
  if (text.empty() || text.find('"') != std::string::npos) return std::nullopt;
  const auto dot = text.find('.');
  if (dot == std::string::npos) return RelationName{"", text};
  return RelationName{text.substr(0, dot), text.substr(dot + 1)};
}

void advisory_call(const JsonValue& call, const std::string& name, const JsonValue& statement,
                   std::string_view sql, ClassifiedStatement& out) {
  if (name.find("unlock") != std::string::npos) return;  // releases
  const auto& args = call["args"].items();
  std::vector<std::int64_t> keys;
  for (const JsonValue& arg : args) {
    const auto key = integer_constant(arg, sql);
    if (!key) {
      mark_unclassified(out, statement, name + "() with a key that is not a constant");
      return;
    }
    keys.push_back(*key);
  }
  AdvisoryTarget t;
  t.mode = name.ends_with("_shared") ? k_share : k_exclusive;
  if (keys.size() == 1) {
    const auto key = static_cast<std::uint64_t>(keys[0]);
    t.classid = static_cast<std::uint32_t>(key >> 32);
    t.objid = static_cast<std::uint32_t>(key & 0xFFFFFFFFU);
    t.objsubid = 1;
  } else if (keys.size() == 2) {
    t.classid = static_cast<std::uint32_t>(keys[0]);
    t.objid = static_cast<std::uint32_t>(keys[1]);
    t.objsubid = 2;
  } else {
    return;
  }
  if (name.find("xact") == std::string::npos) {
    out.notes.push_back(name +
                        "() holds its lock until pg_advisory_unlock() or the session "
                        "ends, across COMMIT");
  }
  out.advisory.push_back(t);
}

// `statement`: the fields of the statement making the call (a call it cannot predict makes
// every relation the statement names ACCESS EXCLUSIVE, as for any unclassified statement).
void classify_call(const JsonValue& call, const JsonValue& statement, std::string_view sql,
                   ClassifiedStatement& out) {
  const RelationName name = list_name(call["funcname"]);
  switch (function_kind(name.schema, name.name)) {
    case FunctionKind::stable:
    case FunctionKind::volatile_call:
      return;
    case FunctionKind::advisory:
      return advisory_call(call, name.name, statement, sql, out);
    case FunctionKind::sequence: {
      const auto sequence = sequence_argument(call);
      if (!sequence) return mark_unclassified(out, statement, name.name + "() of a computed name");
      const LockMode mode = name.name == "currval" ? k_access_share : k_row_exclusive;
      return add_lock(out, lock_of(*sequence, mode, "sequence"));
    }
    case FunctionKind::unknown:
      out.runs_code = true;
      return mark_unclassified(
          out, statement,
          "it calls " + name.sql() + "(), and what a function locks cannot be known from outside");
  }
}

std::string query_kind(std::string_view tag, const JsonValue& f, const QueryScan& q) {
  if (tag == "CopyStmt") return f["is_from"].boolean() ? "COPY FROM" : "COPY TO";
  if (tag == "SelectStmt") return q.locked.empty() ? "SELECT" : "SELECT FOR UPDATE/SHARE";
  return write_kind(std::string(tag));
}

}  // namespace

void classify_query(std::string_view tag, const JsonValue& f, std::string_view sql,
                    ClassifiedStatement& out) {
  if (tag == "ExplainStmt") {
    const JsonValue& inner = f["query"];
    classify_query(node_tag(inner), node_fields(inner), sql, out);
    out.kind = "EXPLAIN " + out.kind;
    return;
  }
  if (tag != "SelectStmt" && tag != "InsertStmt" && tag != "UpdateStmt" && tag != "DeleteStmt" &&
      tag != "MergeStmt" && tag != "CopyStmt") {
    return mark_unclassified(out, f, "pg_lockwatch does not know the locks of " + std::string(tag));
  }
  QueryScan q;
  scan_query(f, q);
  out.kind = query_kind(tag, f, q);
  if (tag == "CopyStmt" && f["is_from"].boolean()) {
    q.writes.emplace_back("InsertStmt", &f);
  } else if (tag == "CopyStmt" && f.has("relation")) {
    q.read.insert(range_var_name(f["relation"]));
  } else if (tag != "SelectStmt" && tag != "CopyStmt") {
    q.writes.emplace_back(std::string(tag), &f);
  }
  std::set<RelationName> written;
  for (const auto& [write_tag, fields] : q.writes) {
    written.insert(range_var_name((*fields)["relation"]));
    add_lock(out, write_target(write_tag, *fields));
  }
  const bool lock_all = q.locked.count(RelationName{"", "*"}) != 0;
  for (const RelationName& name : q.read) {
    if (is_cte(q, name) || written.count(name)) continue;
    const bool locked = lock_all || q.locked.count(name) != 0;
    add_lock(out, read_target(name, locked ? k_row_share : k_access_share));
  }
  if (f.has("intoClause")) out.creates.push_back(range_var_name(f["intoClause"]["rel"]));
  for (const JsonValue* call : q.calls) classify_call(*call, f, sql, out);
  if ((tag == "UpdateStmt" || tag == "DeleteStmt") && !f.has("whereClause")) {
    out.notes.push_back(out.kind +
                        " without WHERE changes every row in one transaction, "
                        "holding each row lock until it ends: batch it");
  }
}

}  // namespace lockwatch
