// DROP, TRUNCATE, CREATE TABLE, views and sequences, and the objects that hang off a
// table (triggers, policies, rules, statistics, comments). Modes from PostgreSQL 15's documentation
// ("Explicit Locking" and each command's page), checked against pg_locks
// (tests/corpus/ddl_locks.toml).
#include "core/ddl_volatility.hpp"
#include "core/statement_rules.hpp"

namespace lockwatch {
namespace {

// The name in a DropStmt or CommentStmt object ({"List": {"items": [String...]}}); with
// `drop_last`, the table of a trigger, policy, rule, column or constraint.
RelationName object_name(const JsonValue& object, bool drop_last) {
  JsonValue parts = node_fields(object)["items"];
  std::vector<JsonValue> items = parts.items();
  if (drop_last && !items.empty()) items.pop_back();
  return list_name(JsonValue::array_value(std::move(items)));
}

bool cascades(const JsonValue& f) {
  return f["behavior"].string() == "DROP_CASCADE";
}

void drop_table(const RelationName& name, const JsonValue& f, ClassifiedStatement& out) {
  StatementLock t = whole_relation(name, k_access_exclusive, "table", true);
  t.reaches[Reach::referenced] = k_access_exclusive;  // its foreign keys' triggers go
  t.reaches[Reach::sequences] = k_access_exclusive;
  if (cascades(f)) {
    t.reaches[Reach::dependents] = k_access_exclusive;
    t.reaches[Reach::referencing] = k_access_exclusive;
  }
  add_lock(out, std::move(t));
}

void drop_index(const RelationName& name, bool concurrently, ClassifiedStatement& out) {
  const LockMode mode = concurrently ? k_share_update_exclusive : k_access_exclusive;
  StatementLock index = lock_of(name, mode, "index");
  index.reaches[Reach::children] = mode;
  StatementLock table = lock_of(name, mode, "table of the index");
  table.denotes = Denotes::index_table;
  table.reaches[Reach::children] = mode;
  add_lock(out, std::move(index));
  add_lock(out, std::move(table));
}

void drop_view(const RelationName& name, const JsonValue& f, bool materialized,
               ClassifiedStatement& out) {
  StatementLock t = materialized ? whole_relation(name, k_access_exclusive, "view", false)
                                 : lock_of(name, k_access_exclusive, "view");
  if (cascades(f)) t.reaches[Reach::dependents] = k_access_exclusive;
  add_lock(out, std::move(t));
}

std::string drop_kind(const std::string& type) {
  if (type == "OBJECT_TABLE") return "DROP TABLE";
  if (type == "OBJECT_INDEX") return "DROP INDEX";
  if (type == "OBJECT_VIEW") return "DROP VIEW";
  if (type == "OBJECT_MATVIEW") return "DROP MATERIALIZED VIEW";
  if (type == "OBJECT_SEQUENCE") return "DROP SEQUENCE";
  if (type == "OBJECT_TRIGGER") return "DROP TRIGGER";
  if (type == "OBJECT_POLICY") return "DROP POLICY";
  if (type == "OBJECT_RULE") return "DROP RULE";
  return "DROP";
}

void drop_object(const std::string& type, const JsonValue& object, const JsonValue& f,
                 ClassifiedStatement& out) {
  if (type == "OBJECT_TABLE" || type == "OBJECT_FOREIGN_TABLE") {
    drop_table(object_name(object, false), f, out);
  } else if (type == "OBJECT_INDEX") {
    drop_index(object_name(object, false), f["concurrent"].boolean(), out);
  } else if (type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW") {
    drop_view(object_name(object, false), f, type == "OBJECT_MATVIEW", out);
  } else if (type == "OBJECT_SEQUENCE") {
    add_lock(out, lock_of(object_name(object, false), k_access_exclusive, "sequence"));
  } else if (type == "OBJECT_TRIGGER" || type == "OBJECT_POLICY" || type == "OBJECT_RULE") {
    add_lock(out, lock_of(object_name(object, true), k_access_exclusive, "table"));
  }
}

}  // namespace

void classify_drop(const JsonValue& f, ClassifiedStatement& out) {
  const std::string& type = f["removeType"].string();
  out.kind = drop_kind(type) + (f["concurrent"].boolean() ? " CONCURRENTLY" : "");
  out.needs_own_transaction = f["concurrent"].boolean();
  const bool relation =
      type == "OBJECT_TABLE" || type == "OBJECT_FOREIGN_TABLE" || type == "OBJECT_INDEX" ||
      type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" || type == "OBJECT_SEQUENCE" ||
      type == "OBJECT_TRIGGER" || type == "OBJECT_POLICY" || type == "OBJECT_RULE";
  if (!relation) {
    // A type, schema, extension... dropped with CASCADE takes the columns and tables that
    // depend on it along; without, it fails when there are any.
    if (cascades(f) || type == "OBJECT_EXTENSION") {
      mark_unclassified(out, f, "DROP ... CASCADE of a non-relation drops what depends on it");
    }
    return;
  }
  for (const JsonValue& object : f["objects"].items()) drop_object(type, object, f, out);
}

void classify_truncate(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "TRUNCATE";
  for (const JsonValue& raw : f["relations"].items()) {
    const JsonValue& rv = node_fields(raw);
    StatementLock t =
        whole_relation(range_var_name(rv), k_access_exclusive, "table", rv["inh"].boolean());
    if (f["restart_seqs"].boolean()) t.reaches[Reach::sequences] = k_access_exclusive;
    if (cascades(f)) {
      StatementLock referencing = t;
      referencing.denotes = Denotes::referencing_tables;
      referencing.role = "referencing table (CASCADE)";
      referencing.reaches[Reach::children] = k_access_exclusive;
      add_lock(out, std::move(referencing));
    }
    add_lock(out, std::move(t));
  }
}

void classify_table_object(std::string_view tag, const JsonValue& f, ClassifiedStatement& out) {
  if (tag == "CreateTrigStmt") {
    out.kind = "CREATE TRIGGER";
    StatementLock t = lock_of(range_var_name(f["relation"]), k_share_row_exclusive, "table");
    if (f["row"].boolean()) t.reaches[Reach::children] = k_share_row_exclusive;  // cloned
    add_lock(out, std::move(t));
  } else if (tag == "CreateStatsStmt") {
    out.kind = "CREATE STATISTICS";
    for (const JsonValue& rv : f["relations"].items()) {
      add_lock(out, lock_of(range_var_name(node_fields(rv)), k_share_update_exclusive, "table"));
    }
  } else {
    out.kind = tag == "RuleStmt" ? "CREATE RULE"
                                 : (tag == "CreatePolicyStmt" ? "CREATE POLICY" : "ALTER POLICY");
    const JsonValue& rv = tag == "RuleStmt" ? f["relation"] : f["table"];
    add_lock(out, lock_of(range_var_name(rv), k_access_exclusive, "table"));
  }
}

void classify_comment(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "COMMENT";
  const std::string& type = f["objtype"].string();
  const bool relation = type == "OBJECT_TABLE" || type == "OBJECT_VIEW" ||
                        type == "OBJECT_MATVIEW" || type == "OBJECT_INDEX" ||
                        type == "OBJECT_SEQUENCE" || type == "OBJECT_FOREIGN_TABLE";
  const bool part = type == "OBJECT_COLUMN" || type == "OBJECT_TABCONSTRAINT" ||
                    type == "OBJECT_TRIGGER" || type == "OBJECT_POLICY" || type == "OBJECT_RULE";
  if (!relation && !part) return;
  add_lock(out, lock_of(object_name(f["object"], part), k_share_update_exclusive, "table"));
}

void classify_create_table(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "CREATE TABLE";
  const RelationName created = range_var_name(f["relation"]);
  out.creates.push_back(created);
  const bool partition = f.has("partbound");
  for (const JsonValue& raw : f["inhRelations"].items()) {
    const RelationName parent = range_var_name(node_fields(raw));
    if (!partition) {
      add_lock(out, lock_of(parent, k_share_update_exclusive, "parent"));
      continue;
    }
    out.kind = "CREATE TABLE PARTITION OF";
    StatementLock t = lock_of(parent, k_access_exclusive, "partitioned table");
    t.reaches[Reach::indexes] = k_share_update_exclusive;
    t.reaches[Reach::default_partition] = k_access_exclusive;
    add_lock(out, std::move(t));
  }
  for (const JsonValue& element : f["tableElts"].items()) {
    const std::string_view tag = node_tag(element);
    const JsonValue& e = node_fields(element);
    if (tag == "TableLikeClause")
      add_lock(out, lock_of(range_var_name(e["relation"]), k_access_share, "copied (LIKE)"));
    if (tag == "Constraint" && e["contype"].string() == "CONSTR_FOREIGN")
      add_foreign_key(e, out, false);
    for (const JsonValue& c : e["constraints"].items()) {
      if (node_fields(c)["contype"].string() == "CONSTR_FOREIGN") {
        add_foreign_key(node_fields(c), out, false);
      }
    }
  }
}

void classify_create_table_as(const JsonValue& f, std::string_view sql, ClassifiedStatement& out) {
  const bool view = f["objtype"].string() == "OBJECT_MATVIEW";
  const JsonValue& query = f["query"];
  classify_query(node_tag(query), node_fields(query), sql, out);
  out.kind = view ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE AS";
  out.creates.push_back(range_var_name(f["into"]["rel"]));
}

void classify_view(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = f["replace"].boolean() ? "CREATE OR REPLACE VIEW" : "CREATE VIEW";
  const RelationName view = range_var_name(f["view"]);
  if (f["replace"].boolean()) add_lock(out, lock_of(view, k_access_exclusive, "view"));
  out.creates.push_back(view);
  // The query is analysed, not planned: ACCESS SHARE on what it names, not on indexes.
  for_each_node(f["query"], [&](std::string_view tag, const JsonValue& rv) {
    if (tag == "RangeVar") add_lock(out, lock_of(range_var_name(rv), k_access_share, "read"));
  });
}

void classify_sequence(std::string_view tag, const JsonValue& f, ClassifiedStatement& out) {
  if (tag == "CreateSeqStmt") {
    out.kind = "CREATE SEQUENCE";
    out.creates.push_back(range_var_name(f["sequence"]));
    return;
  }
  out.kind = "ALTER SEQUENCE";
  add_lock(out, lock_of(range_var_name(f["sequence"]), k_share_row_exclusive, "sequence"));
}

void classify_function(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = f["is_procedure"].boolean() ? "CREATE PROCEDURE" : "CREATE FUNCTION";
  bool sql_language = false;
  for (const JsonValue& option : f["options"].items()) {
    const JsonValue& o = node_fields(option);
    if (o["defname"].string() == "language") sql_language = string_node(o["arg"]) == "sql";
  }
  if (!sql_language) return;  // other languages' validators do not open tables
  if (!f.has("sql_body")) {
    return mark_unclassified(out, f,
                             "a LANGUAGE sql body is checked when it is created, with ACCESS "
                             "SHARE on the tables it reads, and pg_lockwatch does not read a "
                             "body given as a string");
  }
  for_each_node(f["sql_body"], [&](std::string_view node, const JsonValue& rv) {
    if (node == "RangeVar") add_lock(out, lock_of(range_var_name(rv), k_access_share, "read"));
  });
}

}  // namespace lockwatch
