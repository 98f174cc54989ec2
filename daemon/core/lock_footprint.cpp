#include "core/lock_footprint.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace lockwatch {
namespace {

// Builds one statement's footprint, asking the catalog once per relation.
class Expansion {
 public:
  explicit Expansion(CatalogLookup& catalog) : m_catalog(catalog) {}

  void target(const StatementLock& t) {
    const auto root = m_catalog.resolve(t.relation.sql());
    if (!root) {
      m_out.missing.push_back(t.relation.sql());
      return;
    }
    std::vector<Oid> included;
    for (const Oid base : bases(t, *root)) {
      add(base, t.mode, base == *root ? named_role(t) : role_text(t));
      included.push_back(base);
      if (t.reaches.count(Reach::children))
        descendants(base, t.reaches.at(Reach::children), included);
    }
    for (const Oid oid : included) related(oid, t);
  }

  Footprint result() { return std::move(m_out); }

 private:
  const CatalogRelation& rel(Oid oid) {
    auto it = m_cache.find(oid);
    if (it == m_cache.end()) it = m_cache.emplace(oid, m_catalog.relation(oid)).first;
    return it->second;
  }

  std::string name(Oid oid) {
    const CatalogRelation& r = rel(oid);
    return r.oid == 0 ? "oid " + std::to_string(oid) : r.name;
  }

  void add(Oid oid, LockMode mode, std::string via) {
    if (oid == 0 || rel(oid).oid == 0) return;
    if (!m_seen.insert({oid, static_cast<int>(mode)}).second) return;
    m_out.locks.push_back(FootprintLock{oid, name(oid), mode, std::move(via)});
  }

  // What a named relation is to the statement, when it is not simply what it works on.
  static std::string named_role(const StatementLock& t) {
    static const char* const k_plain[] = {"", "table", "read", "written", "named (assumed)"};
    for (const char* plain : k_plain) {
      if (t.role == plain) return "";
    }
    return t.role;
  }

  static std::string role_text(const StatementLock& t) {
    return t.denotes == Denotes::index_table ? "table of index " + t.relation.sql()
                                             : "references " + t.relation.sql();
  }

  // Every relation reachable from `start` through `step`, `start` itself excluded.
  template <typename Step>
  std::vector<Oid> closure(Oid start, Step step) {
    std::vector<Oid> out;
    std::set<Oid> seen{start};
    std::vector<Oid> todo{start};
    while (!todo.empty()) {
      const Oid next = todo.back();
      todo.pop_back();
      for (const Oid o : step(rel(next))) {
        if (seen.insert(o).second) {
          out.push_back(o);
          todo.push_back(o);
        }
      }
    }
    return out;
  }

  // What the target's name stands for.
  std::vector<Oid> bases(const StatementLock& t, Oid root) {
    if (t.denotes == Denotes::index_table) {
      const Oid table = rel(root).index_table;
      return {table != 0 ? table : root};
    }
    if (t.denotes == Denotes::relation) return {root};
    return closure(root, [](const CatalogRelation& r) { return r.referencing; });
  }

  void descendants(Oid parent, LockMode mode, std::vector<Oid>& included) {
    for (const Oid child : rel(parent).children) {
      if (std::find(included.begin(), included.end(), child) != included.end()) continue;
      add(child, mode, (rel(child).is_partition ? "partition of " : "child of ") + name(parent));
      included.push_back(child);
      descendants(child, mode, included);
    }
  }

  void indexes_of(Oid oid, LockMode mode) {
    for (const Oid index : rel(oid).indexes) add(index, mode, "index of " + name(oid));
  }

  void toast_of(Oid oid, LockMode mode) {
    const Oid toast = rel(oid).toast;
    if (toast == 0) return;
    add(toast, mode, "TOAST table of " + name(oid));
    for (const Oid index : rel(toast).indexes) add(index, mode, "TOAST index of " + name(oid));
  }

  void referenced(Oid oid, const StatementLock& t) {
    const auto mode = reach(t, Reach::referenced);
    const auto index_mode = reach(t, Reach::referenced_indexes);
    for (const ForeignKey& fk : rel(oid).foreign_keys) {
      if (!t.constraint.empty() && fk.name != t.constraint) continue;
      if (mode) add(fk.referenced, *mode, "referenced by " + name(oid) + " (" + fk.name + ")");
      if (index_mode) indexes_of(fk.referenced, *index_mode);
    }
  }

  void referencing(Oid oid, const StatementLock& t) {
    const auto mode = reach(t, Reach::referencing);
    const auto index_mode = reach(t, Reach::referencing_indexes);
    for (const Oid other : rel(oid).referencing) {
      if (mode) add(other, *mode, "references " + name(oid));
      if (index_mode) indexes_of(other, *index_mode);
    }
  }

  void views(Oid oid, const StatementLock& t) {
    if (const auto mode = reach(t, Reach::dependents)) {
      for (const Oid view : closure(oid, [](const CatalogRelation& r) { return r.dependents; })) {
        add(view, *mode, "view on " + name(oid));
        indexes_of(view, *mode);
      }
    }
    const auto mode = reach(t, Reach::sources);
    const auto index_mode = reach(t, Reach::source_indexes);
    for (const Oid source : closure(oid, [](const CatalogRelation& r) { return r.sources; })) {
      if (mode) add(source, *mode, "read by view " + name(oid));
      if (index_mode) indexes_of(source, *index_mode);
    }
  }

  void related(Oid oid, const StatementLock& t) {
    if (const auto mode = reach(t, Reach::indexes)) indexes_of(oid, *mode);
    if (const auto mode = reach(t, Reach::toast)) toast_of(oid, *mode);
    referenced(oid, t);
    referencing(oid, t);
    views(oid, t);
    if (const auto mode = reach(t, Reach::sequences)) {
      for (const Oid seq : rel(oid).sequences) add(seq, *mode, "sequence of " + name(oid));
    }
    if (const auto mode = reach(t, Reach::default_partition)) {
      add(rel(oid).default_partition, *mode, "default partition of " + name(oid));
    }
  }

  static std::optional<LockMode> reach(const StatementLock& t, Reach r) {
    const auto it = t.reaches.find(r);
    return it == t.reaches.end() ? std::nullopt : std::optional(it->second);
  }

  CatalogLookup& m_catalog;
  std::map<Oid, CatalogRelation> m_cache;
  std::set<std::pair<Oid, int>> m_seen;
  Footprint m_out;
};

}  // namespace

Footprint expand_footprint(const std::vector<StatementLock>& targets, CatalogLookup& catalog) {
  Expansion expansion(catalog);
  for (const StatementLock& t : targets) expansion.target(t);
  return expansion.result();
}

StatementLock table_target(const std::string& table, LockMode mode) {
  StatementLock t;
  t.relation = RelationName::as_typed(table);
  t.mode = mode;
  t.role = "table";
  for (Reach r : {Reach::children, Reach::indexes, Reach::toast}) t.reaches[r] = mode;
  return t;
}

}  // namespace lockwatch
