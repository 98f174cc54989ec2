#include "core/statement_rules.hpp"

#include <set>

namespace lockwatch {

LockMode stronger(LockMode a, LockMode b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

StatementLock lock_of(const RelationName& relation, LockMode mode, std::string role) {
  StatementLock t;
  t.relation = relation;
  t.mode = mode;
  t.role = std::move(role);
  return t;
}

void add_lock(ClassifiedStatement& out, StatementLock target) {
  for (StatementLock& t : out.locks) {
    if (t.relation != target.relation || t.denotes != target.denotes || t.mode != target.mode ||
        t.role != target.role || t.constraint != target.constraint) {
      continue;
    }
    for (const auto& [reach, mode] : target.reaches) {
      const auto it = t.reaches.find(reach);
      t.reaches[reach] = it == t.reaches.end() ? mode : stronger(it->second, mode);
    }
    return;
  }
  out.locks.push_back(std::move(target));
}

StatementLock whole_relation(const RelationName& relation, LockMode mode, std::string role,
                             bool children) {
  StatementLock t = lock_of(relation, mode, std::move(role));
  if (children) t.reaches[Reach::children] = mode;
  t.reaches[Reach::indexes] = mode;
  t.reaches[Reach::toast] = mode;
  return t;
}

void mark_unclassified(ClassifiedStatement& out, const JsonValue& fields, std::string why) {
  out.classified = false;
  if (out.unclassified.empty()) out.unclassified = std::move(why);
  std::set<RelationName> named;
  const auto note = [&](const JsonValue& rv) {
    if (!rv["relname"].string().empty()) named.insert(range_var_name(rv));
  };
  note(fields["relation"]);
  for_each_node(fields, [&](std::string_view tag, const JsonValue& f) {
    if (tag == "RangeVar") note(f);
    note(f["relation"]);  // a statement's own relation is a bare RangeVar, without its tag
  });
  for (const RelationName& name : named) {
    add_lock(out, whole_relation(name, k_access_exclusive, "named (assumed)", true));
  }
}

void add_foreign_key(const JsonValue& c, ClassifiedStatement& out, bool reads_rows) {
  const RelationName referenced = range_var_name(c["pktable"]);
  StatementLock t = lock_of(referenced, k_share_row_exclusive, "referenced table");
  t.reaches[Reach::children] = k_share_row_exclusive;  // a partitioned table's partitions
  const bool validates = reads_rows && !c["skip_validation"].boolean();
  if (validates) {
    t.reaches[Reach::indexes] = k_access_share;
    if (out.scans.empty()) {
      out.scans = "reads every row to check the foreign key against " + referenced.sql();
    }
  }
  add_lock(out, std::move(t));
}

}  // namespace lockwatch
