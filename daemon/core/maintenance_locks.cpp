// Indexes and maintenance: CREATE INDEX, REINDEX, CLUSTER, VACUUM, ANALYZE, REFRESH
// MATERIALIZED VIEW and LOCK. Modes from PostgreSQL 15's documentation ("Explicit
// Locking" and each command's page), checked against pg_locks (tests/corpus/ddl_locks.toml).
#include "core/statement_rules.hpp"

namespace lockwatch {
namespace {

bool has_option(const JsonValue& options, std::string_view name) {
  for (const JsonValue& option : options.items()) {
    const JsonValue& f = node_fields(option);
    if (f["defname"].string() != name) continue;
    const std::string value = string_node(f["arg"]);
    return value != "false" && value != "off" && value != "0";
  }
  return false;
}

}  // namespace

void classify_create_index(const JsonValue& f, ClassifiedStatement& out) {
  const bool concurrently = f["concurrent"].boolean();
  out.kind = std::string(f["unique"].boolean() ? "CREATE UNIQUE INDEX" : "CREATE INDEX") +
             (concurrently ? " CONCURRENTLY" : "");
  const JsonValue& rv = f["relation"];
  const LockMode mode = concurrently ? k_share_update_exclusive : k_share;
  StatementLock t = lock_of(range_var_name(rv), mode, "table");
  if (rv["inh"].boolean()) t.reaches[Reach::children] = mode;
  add_lock(out, std::move(t));
  out.needs_own_transaction = concurrently;
  out.scans = "reads every row to build the index";
  if (f.has("idxname")) {
    out.creates.push_back(RelationName{range_var_name(rv).schema, f["idxname"].string()});
  }
}

void classify_reindex(const JsonValue& f, ClassifiedStatement& out) {
  const bool concurrently = has_option(f["params"], "concurrently");
  const std::string& kind = f["kind"].string();
  out.kind = std::string("REINDEX") + (concurrently ? " CONCURRENTLY" : "");
  out.needs_own_transaction = concurrently;
  const RelationName name = range_var_name(f["relation"]);
  const LockMode table_mode = concurrently ? k_share_update_exclusive : k_share;
  const LockMode index_mode = concurrently ? k_share_update_exclusive : k_access_exclusive;
  if (kind == "REINDEX_OBJECT_INDEX") {
    StatementLock index = lock_of(name, index_mode, "index");
    index.reaches[Reach::children] = index_mode;
    StatementLock table = lock_of(name, table_mode, "table of the index");
    table.denotes = Denotes::index_table;
    table.reaches[Reach::children] = table_mode;
    add_lock(out, std::move(index));
    add_lock(out, std::move(table));
  } else if (kind == "REINDEX_OBJECT_TABLE") {
    StatementLock table = lock_of(name, table_mode, "table");
    table.reaches[Reach::children] = table_mode;
    table.reaches[Reach::indexes] = index_mode;
    table.reaches[Reach::toast] = index_mode;  // the TOAST table SHARE, its index like the rest
    add_lock(out, std::move(table));
  } else {
    out.needs_own_transaction = true;
    mark_unclassified(out, f, "REINDEX SCHEMA, DATABASE and SYSTEM lock every table in turn");
  }
}

void classify_cluster(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "CLUSTER";
  if (!f.has("relation")) {
    out.needs_own_transaction = true;
    mark_unclassified(out, f, "CLUSTER without a table rewrites every clustered table in turn");
    return;
  }
  add_lock(out, whole_relation(range_var_name(f["relation"]), k_access_exclusive, "table", true));
  out.rewrites = "rewrites the table in index order";
}

void classify_vacuum(const JsonValue& f, ClassifiedStatement& out) {
  const bool vacuum = f["is_vacuumcmd"].boolean();
  const bool full = vacuum && has_option(f["options"], "full");
  out.kind = vacuum ? (full ? "VACUUM FULL" : "VACUUM") : "ANALYZE";
  out.needs_own_transaction = vacuum;
  if (f["rels"].items().empty()) {
    return mark_unclassified(out, f, out.kind + " without a table works on every table in turn");
  }
  for (const JsonValue& raw : f["rels"].items()) {
    const RelationName name = range_var_name(node_fields(raw)["relation"]);
    if (full) {
      add_lock(out, whole_relation(name, k_access_exclusive, "table", true));
      continue;
    }
    StatementLock t = lock_of(name, k_share_update_exclusive, "table");
    t.reaches[Reach::children] = k_share_update_exclusive;
    t.reaches[Reach::indexes] = vacuum ? k_row_exclusive : k_access_share;
    if (vacuum) t.reaches[Reach::toast] = k_share_update_exclusive;
    add_lock(out, std::move(t));
  }
  if (full) out.rewrites = "rewrites the table to give its free space back";
}

void classify_refresh(const JsonValue& f, ClassifiedStatement& out) {
  const bool concurrently = f["concurrent"].boolean();
  out.kind = std::string("REFRESH MATERIALIZED VIEW") + (concurrently ? " CONCURRENTLY" : "");
  const RelationName name = range_var_name(f["relation"]);
  StatementLock t = concurrently
                        ? lock_of(name, k_exclusive, "materialized view")
                        : whole_relation(name, k_access_exclusive, "materialized view", false);
  if (concurrently) t.reaches[Reach::indexes] = k_row_exclusive;
  t.reaches[Reach::sources] = k_access_share;
  t.reaches[Reach::source_indexes] = k_access_share;
  add_lock(out, std::move(t));
  if (!concurrently) out.rewrites = "rebuilds the materialized view";
}

void classify_lock(const JsonValue& f, ClassifiedStatement& out) {
  out.kind = "LOCK TABLE";
  const std::int64_t number = f["mode"].integer();  // 1 = ACCESS SHARE ... 8 = ACCESS EXCLUSIVE
  const LockMode mode =
      number >= 1 && number <= 8 ? static_cast<LockMode>(number - 1) : k_access_exclusive;
  for (const JsonValue& raw : f["relations"].items()) {
    const JsonValue& rv = node_fields(raw);
    StatementLock t = lock_of(range_var_name(rv), mode, "table");
    if (rv["inh"].boolean()) t.reaches[Reach::children] = mode;
    t.reaches[Reach::sources] = mode;  // LOCK on a view locks what it reads
    add_lock(out, std::move(t));
  }
}

}  // namespace lockwatch
