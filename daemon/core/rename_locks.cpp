// RENAME and SET SCHEMA: statements of their own in the parse tree, not ALTER TABLE
// subcommands (checked against pg_locks: tests/corpus/ddl_locks.toml).
#include "core/statement_rules.hpp"

namespace lockwatch {

void classify_rename(const JsonValue& f, ClassifiedStatement& out) {
  const std::string& type = f["renameType"].string();
  const RelationName rel = range_var_name(f["relation"]);
  out.kind = "RENAME";
  if (type == "OBJECT_INDEX") {
    out.kind = "ALTER INDEX RENAME";
    add_lock(out, lock_of(rel, k_share_update_exclusive, "index"));
  } else if (type == "OBJECT_COLUMN" || type == "OBJECT_ATTRIBUTE") {
    out.kind = "ALTER TABLE RENAME COLUMN";
    StatementLock t = lock_of(rel, k_access_exclusive, "table");
    if (f["relation"]["inh"].boolean()) t.reaches[Reach::children] = k_access_exclusive;
    add_lock(out, t);
  } else if (type == "OBJECT_TABLE" || type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" ||
             type == "OBJECT_SEQUENCE" || type == "OBJECT_FOREIGN_TABLE" ||
             type == "OBJECT_TABCONSTRAINT" || type == "OBJECT_TRIGGER" ||
             type == "OBJECT_POLICY" || type == "OBJECT_RULE") {
    out.kind = "ALTER TABLE RENAME";
    add_lock(out, lock_of(rel, k_access_exclusive, "table"));
  }
  // Anything else (a schema, type, function, role...) is not a relation.
}

void classify_alter_schema(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "ALTER TABLE SET SCHEMA";
  if (!f.has("relation")) return;  // a type, function, ...: not a relation
  StatementLock t = lock_of(range_var_name(f["relation"]), k_access_exclusive, "table");
  t.reaches[Reach::sequences] = k_access_exclusive;
  add_lock(out, t);
}

}  // namespace lockwatch
