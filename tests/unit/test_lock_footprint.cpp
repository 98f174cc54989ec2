#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "core/lock_footprint.hpp"

namespace lockwatch {
namespace {

using LM = LockMode;

// A small schema: a partitioned table with a sub-partitioned partition, indexes, TOAST,
// a foreign key from items to orders, and a view on orders.
CatalogRelation rel(Oid oid, std::string name, char kind, bool partition, std::vector<Oid> children,
                    std::vector<Oid> indexes, Oid toast, Oid index_table, Oid default_partition) {
  CatalogRelation r;
  r.oid = oid;
  r.name = std::move(name);
  r.kind = kind;
  r.is_partition = partition;
  r.children = std::move(children);
  r.indexes = std::move(indexes);
  r.toast = toast;
  r.index_table = index_table;
  r.default_partition = default_partition;
  return r;
}

class FixtureCatalog : public CatalogLookup {
 public:
  FixtureCatalog() {
    add(rel(1, "events", 'p', false, {2, 3, 4}, {10}, 0, 0, 4));
    add(rel(2, "events_1", 'r', true, {}, {11}, 20, 0, 0));
    add(rel(3, "events_2", 'p', true, {5}, {}, 0, 0, 0));
    add(rel(4, "events_default", 'r', true, {}, {}, 0, 0, 0));
    add(rel(5, "events_2a", 'r', true, {}, {12}, 0, 0, 0));
    add(rel(10, "events_kind_idx", 'I', false, {11, 12}, {}, 0, 1, 0));
    add(rel(11, "events_1_kind_idx", 'i', true, {}, {}, 0, 2, 0));
    add(rel(12, "events_2a_kind_idx", 'i', true, {}, {}, 0, 5, 0));
    add(rel(20, "pg_toast.pg_toast_2", 't', false, {}, {21}, 0, 0, 0));
    add(rel(21, "pg_toast.pg_toast_2_index", 'i', false, {}, {}, 0, 20, 0));
    CatalogRelation orders = rel(30, "orders", 'r', false, {}, {31}, 0, 0, 0);
    orders.referencing = {40};
    orders.dependents = {50};
    add(orders);
    add(rel(31, "orders_pkey", 'i', false, {}, {}, 0, 30, 0));
    CatalogRelation items = rel(40, "items", 'r', false, {}, {41}, 0, 0, 0);
    items.foreign_keys = {{"items_order_fkey", 30}};
    add(items);
    add(rel(41, "items_pkey", 'i', false, {}, {}, 0, 40, 0));
    CatalogRelation view = rel(50, "big_orders", 'v', false, {}, {}, 0, 0, 0);
    view.sources = {30};
    add(view);
  }

  std::optional<Oid> resolve(const std::string& name) override {
    ++resolves;
    for (const auto& [oid, r] : m_relations) {
      if (r.name == name) return oid;
    }
    return std::nullopt;
  }

  CatalogRelation relation(Oid oid) override {
    ++lookups;
    const auto it = m_relations.find(oid);
    return it == m_relations.end() ? CatalogRelation{} : it->second;
  }

  int resolves = 0;
  int lookups = 0;

 private:
  void add(CatalogRelation r) { m_relations[r.oid] = r; }
  std::map<Oid, CatalogRelation> m_relations;
};

StatementLock target(const std::string& name, LM mode, std::map<Reach, LM> reaches = {}) {
  StatementLock t;
  t.relation = RelationName{"", name};
  t.mode = mode;
  t.reaches = std::move(reaches);
  return t;
}

std::vector<std::string> shown(const Footprint& f) {
  std::vector<std::string> out;
  for (const FootprintLock& l : f.locks) {
    out.push_back(l.relation + " " + sql_name(l.mode) + (l.via.empty() ? "" : " (" + l.via + ")"));
  }
  return out;
}

TEST_SUITE("lock footprint") {
  TEST_CASE("--table: partitions recursively, the default one, indexes, TOAST and its index") {
    FixtureCatalog catalog;
    const auto f = expand_footprint({table_target("events", LM::access_exclusive)}, catalog);
    CHECK(shown(f) == std::vector<std::string>{
                          "events ACCESS EXCLUSIVE",
                          "events_1 ACCESS EXCLUSIVE (partition of events)",
                          "events_2 ACCESS EXCLUSIVE (partition of events)",
                          "events_2a ACCESS EXCLUSIVE (partition of events_2)",
                          "events_default ACCESS EXCLUSIVE (partition of events)",
                          "events_kind_idx ACCESS EXCLUSIVE (index of events)",
                          "events_1_kind_idx ACCESS EXCLUSIVE (index of events_1)",
                          "pg_toast.pg_toast_2 ACCESS EXCLUSIVE (TOAST table of events_1)",
                          "pg_toast.pg_toast_2_index ACCESS EXCLUSIVE (TOAST index of events_1)",
                          "events_2a_kind_idx ACCESS EXCLUSIVE (index of events_2a)",
                      });
    CHECK(f.missing.empty());
    CHECK(catalog.lookups <= 12);  // each relation read once
  }

  TEST_CASE("what is not asked for is not reached, and a missing name is reported") {
    FixtureCatalog catalog;
    const auto f = expand_footprint(
        {target("events", LM::share_update_exclusive), target("nowhere", LM::share)}, catalog);
    CHECK(shown(f) == std::vector<std::string>{"events SHARE UPDATE EXCLUSIVE"});
    CHECK(f.missing == std::vector<std::string>{"nowhere"});
  }

  TEST_CASE("an index's table, with its partitions") {
    FixtureCatalog catalog;
    StatementLock t =
        target("events_kind_idx", LM::access_exclusive, {{Reach::children, LM::access_exclusive}});
    t.denotes = Denotes::index_table;
    t.relation.schema = "";
    const auto f = expand_footprint({t}, catalog);
    REQUIRE(f.locks.size() == 5);
    CHECK(f.locks[0].relation == "events");
    CHECK(f.locks[0].via == "table of index events_kind_idx");
  }

  TEST_CASE("foreign keys either way, by constraint name, and views either way") {
    FixtureCatalog catalog;
    StatementLock drop = target(
        "items", LM::access_exclusive,
        {{Reach::referenced, LM::access_exclusive}, {Reach::referenced_indexes, LM::access_share}});
    CHECK(
        shown(expand_footprint({drop}, catalog)) ==
        std::vector<std::string>{"items ACCESS EXCLUSIVE",
                                 "orders ACCESS EXCLUSIVE (referenced by items (items_order_fkey))",
                                 "orders_pkey ACCESS SHARE (index of orders)"});
    drop.constraint = "some_check";
    CHECK(shown(expand_footprint({drop}, catalog)) ==
          std::vector<std::string>{"items ACCESS EXCLUSIVE"});
    const StatementLock cascade = target(
        "orders", LM::access_exclusive,
        {{Reach::referencing, LM::access_exclusive}, {Reach::dependents, LM::access_exclusive}});
    CHECK(shown(expand_footprint({cascade}, catalog)) ==
          std::vector<std::string>{"orders ACCESS EXCLUSIVE",
                                   "items ACCESS EXCLUSIVE (references orders)",
                                   "big_orders ACCESS EXCLUSIVE (view on orders)"});
    const StatementLock read =
        target("big_orders", LM::access_share,
               {{Reach::sources, LM::access_share}, {Reach::source_indexes, LM::access_share}});
    CHECK(shown(expand_footprint({read}, catalog)) ==
          std::vector<std::string>{"big_orders ACCESS SHARE",
                                   "orders ACCESS SHARE (read by view big_orders)",
                                   "orders_pkey ACCESS SHARE (index of orders)"});
  }

  TEST_CASE("TRUNCATE ... CASCADE: the tables referencing it, and the ones referencing those") {
    FixtureCatalog catalog;
    StatementLock t =
        target("orders", LM::access_exclusive, {{Reach::indexes, LM::access_exclusive}});
    t.denotes = Denotes::referencing_tables;
    CHECK(shown(expand_footprint({t}, catalog)) ==
          std::vector<std::string>{"items ACCESS EXCLUSIVE (references orders)",
                                   "items_pkey ACCESS EXCLUSIVE (index of items)"});
  }

  TEST_CASE("the same relation in two modes is listed in both, in one mode once") {
    FixtureCatalog catalog;
    const auto f = expand_footprint({target("orders", LM::share), target("orders", LM::share),
                                     target("orders", LM::row_exclusive)},
                                    catalog);
    CHECK(shown(f) == std::vector<std::string>{"orders SHARE", "orders ROW EXCLUSIVE"});
  }
}

}  // namespace
}  // namespace lockwatch
