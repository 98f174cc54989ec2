// ALTER TABLE (and ALTER INDEX, VIEW, ...). The modes are
// AlterTableGetLockLevel's (src/backend/commands/tablecmds.c, PostgreSQL 15); which
// subcommands recurse to children and which related relations they lock were checked
// against pg_locks (tests/corpus/ddl_locks.toml).
#include <algorithm>
#include <array>

#include "core/ddl_volatility.hpp"
#include "core/statement_rules.hpp"

namespace lockwatch {
namespace {

// What the subcommands of one ALTER TABLE add up to.
struct AlterState {
  RelationName table;
  std::string constraint;  // the one constraint DROP or VALIDATE names ("" if none or several)
  int constraints = 0;
  LockMode mode = k_share_update_exclusive;  // the lowest AlterTableGetLockLevel starts at
  bool recurses = false;                     // to partitions and inheritance children
  std::map<Reach, LockMode> reaches;
  std::vector<StatementLock> others;  // other relations it locks
};

struct SubcommandRule {
  std::string_view subtype;
  LockMode mode;
  bool recurses;
};

// Subcommands that need nothing but their lock level and whether they recurse.
constexpr std::array<SubcommandRule, 36> k_rules = {{
    {"AT_ColumnDefault", k_access_exclusive, true},
    {"AT_DropNotNull", k_access_exclusive, true},
    {"AT_DropExpression", k_access_exclusive, true},
    {"AT_SetStatistics", k_share_update_exclusive, true},
    {"AT_SetOptions", k_share_update_exclusive, false},
    {"AT_ResetOptions", k_share_update_exclusive, false},
    {"AT_SetStorage", k_access_exclusive, true},
    {"AT_SetCompression", k_access_exclusive, true},
    {"AT_DropColumn", k_access_exclusive, true},
    {"AT_DropCluster", k_share_update_exclusive, false},
    {"AT_EnableTrig", k_share_row_exclusive, false},
    {"AT_EnableAlwaysTrig", k_share_row_exclusive, false},
    {"AT_EnableReplicaTrig", k_share_row_exclusive, false},
    {"AT_EnableTrigAll", k_share_row_exclusive, false},
    {"AT_EnableTrigUser", k_share_row_exclusive, false},
    {"AT_DisableTrig", k_share_row_exclusive, false},
    {"AT_DisableTrigAll", k_share_row_exclusive, false},
    {"AT_DisableTrigUser", k_share_row_exclusive, false},
    {"AT_EnableRule", k_access_exclusive, false},
    {"AT_EnableAlwaysRule", k_access_exclusive, false},
    {"AT_EnableReplicaRule", k_access_exclusive, false},
    {"AT_DisableRule", k_access_exclusive, false},
    {"AT_AddOf", k_access_exclusive, false},
    {"AT_DropOf", k_access_exclusive, false},
    {"AT_ReplicaIdentity", k_access_exclusive, false},
    {"AT_EnableRowSecurity", k_access_exclusive, false},
    {"AT_DisableRowSecurity", k_access_exclusive, false},
    {"AT_ForceRowSecurity", k_access_exclusive, false},
    {"AT_NoForceRowSecurity", k_access_exclusive, false},
    {"AT_GenericOptions", k_access_exclusive, false},
    {"AT_AlterColumnGenericOptions", k_access_exclusive, false},
    {"AT_AddIdentity", k_access_exclusive, false},
    {"AT_SetIdentity", k_access_exclusive, false},
    {"AT_DropIdentity", k_access_exclusive, false},
    {"AT_AlterConstraint", k_access_exclusive, true},
    {"AT_DetachPartitionFinalize", k_share_update_exclusive, false},
}};

// Storage parameters that AlterTableGetRelOptionsLockLevel sets under SHARE UPDATE
// EXCLUSIVE (src/backend/access/common/reloptions.c); every other one needs ACCESS
// EXCLUSIVE.
constexpr std::array<std::string_view, 9> k_light_reloptions = {
    "fillfactor",           "toast_tuple_target", "parallel_workers",
    "vacuum_index_cleanup", "vacuum_truncate",    "log_autovacuum_min_duration",
    "user_catalog_table",   "autovacuum_enabled", "deduplicate_items"};

void require(AlterState& st, LockMode mode, bool recurses) {
  st.mode = stronger(st.mode, mode);
  st.recurses = st.recurses || recurses;
}

void reach(AlterState& st, Reach r, LockMode mode) {
  const auto it = st.reaches.find(r);
  st.reaches[r] = it == st.reaches.end() ? mode : stronger(it->second, mode);
}

// A rewrite copies the table, its TOAST table and rebuilds every index under ACCESS
// EXCLUSIVE.
void rewrite(AlterState& st, ClassifiedStatement& out, const std::string& why) {
  reach(st, Reach::indexes, k_access_exclusive);
  reach(st, Reach::toast, k_access_exclusive);
  if (out.rewrites.empty()) out.rewrites = why;
}

void scan(ClassifiedStatement& out, const std::string& why) {
  if (out.scans.empty()) out.scans = why;
}

LockMode reloption_mode(const JsonValue& options) {
  for (const JsonValue& option : options.items()) {
    const std::string name = node_fields(option)["defname"].string();
    const bool light = name.starts_with("autovacuum_") ||
                       std::find(k_light_reloptions.begin(), k_light_reloptions.end(), name) !=
                           k_light_reloptions.end();
    if (!light) return k_access_exclusive;
  }
  return k_share_update_exclusive;
}

bool is_serial(const JsonValue& column) {
  const std::string type = last_name(column["typeName"]["names"]);
  return type == "serial" || type == "bigserial" || type == "smallserial" || type == "serial2" ||
         type == "serial4" || type == "serial8";
}

void add_column_constraint(const JsonValue& c, const std::string& column, AlterState& st,
                           ClassifiedStatement& out) {
  const std::string& type = c["contype"].string();
  if (type == "CONSTR_DEFAULT") {
    const std::string volatile_call = volatile_function(c["raw_expr"]);
    if (!volatile_call.empty()) {
      rewrite(st, out, "fills column " + column + " with the volatile default " + volatile_call);
    }
  } else if (type == "CONSTR_IDENTITY") {
    rewrite(st, out, "fills the identity column " + column);
  } else if (type == "CONSTR_GENERATED") {
    rewrite(st, out, "computes the stored generated column " + column);
  } else if (type == "CONSTR_FOREIGN") {
    add_foreign_key(c, out, false);  // the new column is all NULL (or its default)
  } else if (type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE") {
    scan(out, "builds the index of column " + column);
  }
}

void add_column(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  require(st, k_access_exclusive, true);
  const JsonValue& column = node_fields(cmd["def"]);
  const std::string name = column["colname"].string();
  if (is_serial(column)) rewrite(st, out, "fills the serial column " + name + " from a sequence");
  for (const JsonValue& c : column["constraints"].items()) {
    add_column_constraint(node_fields(c), name, st, out);
  }
}

void alter_column_type(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  require(st, k_access_exclusive, true);
  rewrite(st, out,
          "changes the type of column " + cmd["name"].string() +
              " (unless the old type is binary-coercible to the new, as varchar(n) to a "
              "longer varchar or to text)");
  // Foreign keys on the column are dropped and added again, on both of their tables.
  reach(st, Reach::referenced, k_access_exclusive);
  reach(st, Reach::referenced_indexes, k_access_share);
  reach(st, Reach::referencing, k_access_exclusive);
  reach(st, Reach::referencing_indexes, k_access_share);
}

void add_constraint(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  const JsonValue& c = node_fields(cmd["def"]);
  const std::string& type = c["contype"].string();
  const bool validates = !c["skip_validation"].boolean();
  if (type == "CONSTR_FOREIGN") {
    require(st, k_share_row_exclusive, true);
    add_foreign_key(c, out, true);
    if (validates) reach(st, Reach::indexes, k_access_share);
    return;
  }
  require(st, k_access_exclusive, true);
  if (type == "CONSTR_CHECK" && validates) {
    scan(out, "reads every row to validate the CHECK constraint");
  } else if ((type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE" || type == "CONSTR_EXCLUSION") &&
             c.has("indexname")) {
    st.others.push_back(lock_of(RelationName{st.table.schema, c["indexname"].string()},
                                k_share_update_exclusive, "index"));
  } else if (type == "CONSTR_PRIMARY" || type == "CONSTR_UNIQUE" || type == "CONSTR_EXCLUSION") {
    scan(out, "builds the constraint's index");
  }
}

// The foreign keys whose referenced tables are locked: the one named, or all of them.
void name_constraint(AlterState& st, const std::string& name) {
  st.constraint = ++st.constraints == 1 ? name : "";
}

void drop_constraint(const JsonValue& cmd, AlterState& st) {
  require(st, k_access_exclusive, true);
  reach(st, Reach::indexes, k_access_exclusive);     // a primary key or unique constraint's index
  reach(st, Reach::referenced, k_access_exclusive);  // a foreign key's referenced table
  name_constraint(st, cmd["name"].string());
  if (cmd["behavior"].string() == "DROP_CASCADE") reach(st, Reach::referencing, k_access_exclusive);
}

void validate_constraint(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  require(st, k_share_update_exclusive, true);
  reach(st, Reach::indexes, k_access_share);
  reach(st, Reach::referenced, k_row_share);  // when it is a foreign key
  reach(st, Reach::referenced_indexes, k_access_share);
  name_constraint(st, cmd["name"].string());
  scan(out, "reads every row to validate constraint " + cmd["name"].string() +
                " (under SHARE UPDATE EXCLUSIVE: reads and writes go on)");
}

void attach_partition(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  require(st, k_share_update_exclusive, false);
  reach(st, Reach::indexes, k_share_update_exclusive);
  reach(st, Reach::default_partition, k_access_exclusive);
  const RelationName partition = range_var_name(node_fields(cmd["def"])["name"]);
  StatementLock t = whole_relation(partition, k_access_exclusive, "partition attached", true);
  t.reaches.erase(Reach::toast);
  st.others.push_back(t);
  scan(out, "reads the partition " + partition.sql() +
                " to check its rows against the bound (unless a CHECK constraint proves it)");
}

void detach_partition(const JsonValue& cmd, AlterState& st, ClassifiedStatement& out) {
  const JsonValue& def = node_fields(cmd["def"]);
  const bool concurrently = def["concurrent"].boolean();
  const LockMode mode = concurrently ? k_share_update_exclusive : k_access_exclusive;
  require(st, mode, false);
  reach(st, Reach::default_partition, mode);
  StatementLock t = whole_relation(range_var_name(def["name"]), mode, "partition detached", true);
  t.reaches.erase(Reach::toast);
  st.others.push_back(t);
  if (concurrently) {
    out.kind += " DETACH PARTITION CONCURRENTLY";
    out.needs_own_transaction = true;
  }
}

void inherit(const JsonValue& cmd, bool add, AlterState& st) {
  require(st, k_access_exclusive, false);
  const LockMode parent_mode = add ? k_share_update_exclusive : k_access_share;
  st.others.push_back(lock_of(range_var_name(node_fields(cmd["def"])), parent_mode, "parent"));
}

// Subcommands with more to them than a lock level.
bool special_subcommand(const std::string& subtype, const JsonValue& cmd, AlterState& st,
                        ClassifiedStatement& out) {
  if (subtype == "AT_SetNotNull") {
    require(st, k_access_exclusive, true);
    scan(out, "reads every row to check column " + cmd["name"].string() +
                  " has no NULL (unless a valid CHECK (... IS NOT NULL) constraint proves it)");
  } else if (subtype == "AT_AddColumn") {
    add_column(cmd, st, out);
  } else if (subtype == "AT_AlterColumnType") {
    alter_column_type(cmd, st, out);
  } else if (subtype == "AT_AddConstraint") {
    add_constraint(cmd, st, out);
  } else if (subtype == "AT_DropConstraint") {
    drop_constraint(cmd, st);
  } else if (subtype == "AT_ValidateConstraint") {
    validate_constraint(cmd, st, out);
  } else if (subtype == "AT_AttachPartition") {
    attach_partition(cmd, st, out);
  } else if (subtype == "AT_DetachPartition") {
    detach_partition(cmd, st, out);
  } else if (subtype == "AT_AddInherit" || subtype == "AT_DropInherit") {
    inherit(cmd, subtype == "AT_AddInherit", st);
  } else if (subtype == "AT_SetRelOptions" || subtype == "AT_ResetRelOptions") {
    const LockMode mode = reloption_mode(node_fields(cmd["def"])["items"]);
    require(st, mode, false);
    reach(st, Reach::toast, mode);
  } else if (subtype == "AT_ClusterOn") {
    require(st, k_share_update_exclusive, false);
    st.others.push_back(
        lock_of({st.table.schema, cmd["name"].string()}, k_share_update_exclusive, "index"));
  } else if (subtype == "AT_ChangeOwner") {
    require(st, k_access_exclusive, false);  // its indexes, TOAST and sequences change too
    for (Reach r : {Reach::indexes, Reach::toast, Reach::sequences})
      reach(st, r, k_access_exclusive);
  } else if (subtype == "AT_SetLogged" || subtype == "AT_SetUnLogged") {
    require(st, k_access_exclusive, false);
    rewrite(st, out, "rewrites the table to change its persistence");
    reach(st, Reach::sequences, k_access_exclusive);
  } else if (subtype == "AT_SetTableSpace") {
    require(st, k_access_exclusive, false);
    reach(st, Reach::toast, k_access_exclusive);
    if (out.rewrites.empty()) out.rewrites = "copies the table's files to the new tablespace";
  } else if (subtype == "AT_SetAccessMethod") {
    require(st, k_access_exclusive, false);
    rewrite(st, out, "rewrites the table in the new access method");
  } else {
    return false;
  }
  return true;
}

std::string alter_kind(const std::string& objtype) {
  if (objtype == "OBJECT_INDEX") return "ALTER INDEX";
  if (objtype == "OBJECT_VIEW") return "ALTER VIEW";
  if (objtype == "OBJECT_MATVIEW") return "ALTER MATERIALIZED VIEW";
  if (objtype == "OBJECT_SEQUENCE") return "ALTER SEQUENCE";
  if (objtype == "OBJECT_FOREIGN_TABLE") return "ALTER FOREIGN TABLE";
  if (objtype == "OBJECT_TYPE") return "ALTER TYPE";
  return "ALTER TABLE";
}

std::string role_of(const std::string& objtype) {
  if (objtype == "OBJECT_INDEX") return "index";
  if (objtype == "OBJECT_VIEW" || objtype == "OBJECT_MATVIEW") return "view";
  if (objtype == "OBJECT_SEQUENCE") return "sequence";
  return "table";
}

}  // namespace

void classify_alter_table(const JsonValue& f, ClassifiedStatement& out) {
  const std::string& objtype = f["objtype"].string();
  out.kind = alter_kind(objtype);
  const JsonValue& rv = f["relation"];
  AlterState st;
  st.table = range_var_name(rv);
  for (const JsonValue& raw : f["cmds"].items()) {
    const JsonValue& cmd = node_fields(raw);
    const std::string& subtype = cmd["subtype"].string();
    if (special_subcommand(subtype, cmd, st, out)) continue;
    const auto rule = std::find_if(k_rules.begin(), k_rules.end(),
                                   [&](const SubcommandRule& r) { return r.subtype == subtype; });
    if (rule == k_rules.end()) {
      out.classified = false;
      out.unclassified = "pg_lockwatch does not know the subcommand " + subtype;
      require(st, k_access_exclusive, true);
      for (Reach r : {Reach::indexes, Reach::toast}) reach(st, r, k_access_exclusive);
      continue;
    }
    require(st, rule->mode, rule->recurses);
  }
  StatementLock table = lock_of(st.table, st.mode, role_of(objtype));
  if (st.recurses && rv["inh"].boolean()) st.reaches[Reach::children] = st.mode;
  table.reaches = st.reaches;
  if (st.reaches.count(Reach::referenced)) table.constraint = st.constraint;
  out.locks.insert(out.locks.begin(), std::move(table));
  for (StatementLock& other : st.others) add_lock(out, std::move(other));
}

}  // namespace lockwatch
