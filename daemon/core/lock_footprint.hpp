#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/statement_lock.hpp"

namespace lockwatch {

using Oid = std::int64_t;

// A foreign key of a table: its name and the table it references.
struct ForeignKey {
  std::string name;
  Oid referenced = 0;
};

// What the catalog says about one relation, as far as lock footprints go.
struct CatalogRelation {
  Oid oid = 0;       // 0: no such relation
  std::string name;  // as psql shows it: qualified when not on the search_path
  char kind = 'r';   // pg_class.relkind
  bool is_partition = false;
  std::vector<Oid> children;  // direct partitions and inheritance children (pg_inherits)
  std::vector<Oid> indexes;
  Oid toast = 0;              // its TOAST table
  Oid index_table = 0;        // for an index: the table it indexes
  Oid default_partition = 0;  // for a partitioned table
  std::vector<ForeignKey> foreign_keys;
  std::vector<Oid> referencing;  // tables whose foreign keys reference this one
  std::vector<Oid> dependents;   // views and materialized views whose query reads it
  std::vector<Oid> sources;      // for a view: the relations its query reads
  std::vector<Oid> sequences;    // sequences it owns (serial, identity)
};

// The catalog, asked one relation at a time (the live database, or a fixture in tests).
class CatalogLookup {
 public:
  virtual ~CatalogLookup() = default;
  // The relation `name` (SQL text, resolved like psql would) stands for; nullopt if none.
  virtual std::optional<Oid> resolve(const std::string& name) = 0;
  // Everything about `oid`; a relation with oid 0 when there is none.
  virtual CatalogRelation relation(Oid oid) = 0;
};

// One relation a statement locks, in one mode, and why.
struct FootprintLock {
  Oid oid = 0;
  std::string relation;  // its name
  LockMode mode = LockMode::access_exclusive;
  std::string via;  // how it is related to what the statement names: "partition of events"

  bool operator==(const FootprintLock&) const = default;
};

// Every relation a statement's locks reach, as the catalog has it now.
struct Footprint {
  std::vector<FootprintLock> locks;  // in the order found: named relations first
  std::vector<std::string> missing;  // names that resolve to nothing (yet)
};

// Expands the targets through the catalog: children recursively, indexes, TOAST tables
// (with their index), foreign keys either way, views either way, owned sequences, default
// partitions, as each target's reaches say.
Footprint expand_footprint(const std::vector<StatementLock>& targets, CatalogLookup& catalog);

// The lock footprint of a DDL taking `mode` on `table`, whatever the DDL: the table with
// its children, their indexes and TOAST tables, all in `mode` (preflight --table).
StatementLock table_target(const std::string& table, LockMode mode);

}  // namespace lockwatch
