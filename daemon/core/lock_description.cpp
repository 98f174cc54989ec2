#include "core/lock_description.hpp"

namespace lockwatch {
namespace {

// Catalog oids that object locks name in classid (src/include/catalog/pg_*.h).
constexpr std::uint32_t k_pg_authid = 1260;
constexpr std::uint32_t k_pg_database = 1262;
constexpr std::uint32_t k_pg_namespace = 2615;

bool names_apply(const LockTarget& t, const LockSnapshot& names) {
  return t.database == 0 || t.database == names.names_database;
}

std::string database_label(std::uint32_t oid, const LockSnapshot& names) {
  const auto it = names.database_names.find(oid);
  return it != names.database_names.end() ? it->second : "oid:" + std::to_string(oid);
}

// An advisory key as the application passed it: one bigint (objsubid 1) or two ints (2).
std::string advisory_key(const LockTarget& t) {
  if (t.objsubid == 2) {
    return "(" + std::to_string(static_cast<std::int32_t>(t.classid)) + "," +
           std::to_string(static_cast<std::int32_t>(t.objid)) + ")";
  }
  const auto key = static_cast<std::int64_t>((std::uint64_t{t.classid} << 32) | t.objid);
  return std::to_string(key);
}

std::string object_label(const LockTarget& t, const LockSnapshot& names) {
  switch (t.classid) {
    case k_pg_database:
      return "database " + database_label(t.objid, names);
    case k_pg_authid:
      return "role oid:" + std::to_string(t.objid);
    case k_pg_namespace:
      return "schema oid:" + std::to_string(t.objid);
    default:
      return "object " + std::to_string(t.classid) + "/" + std::to_string(t.objid) + "/" +
             std::to_string(t.objsubid);
  }
}

}  // namespace

std::string relation_label(const LockTarget& t, const LockSnapshot& names) {
  switch (t.type) {
    case LockType::relation:
    case LockType::extend:
    case LockType::page:
    case LockType::tuple:
      break;
    default:
      return "";
  }
  if (names_apply(t, names)) {
    const auto it = names.relation_names.find(t.relation);
    if (it != names.relation_names.end()) return it->second;
  }
  std::string label = "relation " + std::to_string(t.relation);
  if (!names_apply(t, names)) label += " in database " + database_label(t.database, names);
  return label;
}

std::string describe_target(const LockTarget& t, const LockSnapshot& names) {
  switch (t.type) {
    case LockType::relation: {
      std::string label = relation_label(t, names);
      return label.rfind("relation ", 0) == 0 ? label : "relation " + label;
    }
    case LockType::extend:
      return "extension of " + relation_label(t, names);
    case LockType::page:
      return "page " + std::to_string(t.page) + " of " + relation_label(t, names);
    case LockType::tuple:
      return "tuple (" + std::to_string(t.page) + "," + std::to_string(t.tuple) + ") of " +
             relation_label(t, names);
    case LockType::transactionid:
      return "transaction " + std::to_string(t.transactionid);
    case LockType::virtualxid:
      return "virtual transaction " + t.virtualxid;
    case LockType::spectoken:
      return "speculative insertion of transaction " + std::to_string(t.transactionid);
    case LockType::object:
      return object_label(t, names);
    case LockType::advisory:
      return "advisory lock " + advisory_key(t);
    case LockType::frozenid:
      return "frozen ids of database " + database_label(t.database, names);
    case LockType::userlock:
      return "user lock " + std::to_string(t.classid) + "/" + std::to_string(t.objid);
    case LockType::applytransaction:
      return "remote transaction " + std::to_string(t.transactionid) + " of subscription " +
             std::to_string(t.objid);
    case LockType::other:
      break;
  }
  return t.type_name + " lock";
}

void write_target_json(JsonWriter& json, const LockTarget& t, const LockSnapshot& names) {
  json.begin_object();
  json.key("type").value(t.type == LockType::other ? t.type_name : std::string(to_string(t.type)));
  json.key("description").value(describe_target(t, names));
  if (const std::string relation = relation_label(t, names); !relation.empty()) {
    json.key("relation").value(relation);
  }
  if (t.page >= 0) json.key("page").value(t.page);
  if (t.tuple >= 0) json.key("tuple").value(t.tuple);
  if (t.transactionid >= 0) json.key("transactionid").value(t.transactionid);
  if (!t.virtualxid.empty()) json.key("virtualxid").value(t.virtualxid);
  if (t.type == LockType::advisory) json.key("key").value(advisory_key(t));
  if (t.type == LockType::object) {
    json.key("classid").value(std::int64_t{t.classid});
    json.key("objid").value(std::int64_t{t.objid});
  }
  json.end_object();
}

}  // namespace lockwatch
