#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/lock_modes.hpp"

namespace lockwatch {

// A relation as a statement names it (identifiers as the parser folded them).
struct RelationName {
  std::string schema;  // empty: found on the search_path
  std::string name;
  bool typed = false;  // `name` is SQL text as an operator typed it ("public.orders")

  // As SQL would spell it: schema.name, each part double-quoted when it needs to be.
  std::string sql() const;
  static RelationName as_typed(std::string text) { return {"", std::move(text), true}; }
  bool operator==(const RelationName&) const = default;
  auto operator<=>(const RelationName&) const = default;
};

// Which relations a target's name stands for.
enum class Denotes {
  relation,            // the named relation itself
  index_table,         // the table the named index belongs to
  referencing_tables,  // the tables whose foreign keys reference it, and theirs (CASCADE)
};

// The relations related to a target that its statement locks too.
enum class Reach {
  children,             // partitions and inheritance children, recursively
  indexes,              // the indexes of the relation and of each child locked
  toast,                // their TOAST tables, with the TOAST tables' indexes
  referenced,           // the tables their foreign keys reference
  referenced_indexes,   // the indexes of those
  referencing,          // the tables whose foreign keys reference them
  referencing_indexes,  // the indexes of those
  dependents,           // views and materialized views built on them (and their indexes)
  sources,              // the relations a view reads, recursively
  source_indexes,       // the indexes of those
  sequences,            // the sequences they own (serial and identity columns)
  default_partition,    // the default partition of a partitioned table
};

// "children", "referenced_indexes", ... (the corpus and --json spelling).
std::string reach_name(Reach reach);
std::optional<Reach> parse_reach(std::string_view name);

// One lock a statement takes, before the catalog says which relations it reaches.
struct StatementLock {
  RelationName relation;
  Denotes denotes = Denotes::relation;
  LockMode mode = LockMode::access_exclusive;
  std::map<Reach, LockMode> reaches;  // related relations locked too, each in its mode
  std::string constraint;             // referenced: only through the foreign key of this name
  std::string role;                   // how the statement uses it: "table", "index", ...

  bool operator==(const StatementLock&) const = default;
};

// A PostgreSQL advisory lock as pg_locks shows it (classid, objid, objsubid).
struct AdvisoryTarget {
  std::uint32_t classid = 0;
  std::uint32_t objid = 0;
  int objsubid = 1;                     // 1: one bigint key; 2: two int keys
  LockMode mode = LockMode::exclusive;  // exclusive, or share for the _shared functions

  bool operator==(const AdvisoryTarget&) const = default;
};

// The key as the SQL function took it: "42" or "(1, 2)".
std::string advisory_key_text(const AdvisoryTarget& target);

// "orders ACCESS EXCLUSIVE with its partitions and children; indexes ACCESS EXCLUSIVE":
// one line for people.
std::string describe_statement_lock(const StatementLock& target);

}  // namespace lockwatch
