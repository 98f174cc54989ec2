#include "pg/catalog_names.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace lockwatch {
namespace {

std::string oid_array(const std::vector<NameCache::Oid>& oids) {
  std::string out = "{";
  for (NameCache::Oid oid : oids) out += (out.size() > 1 ? "," : "") + std::to_string(oid);
  return out + "}";
}

// regclass prints the bare oid for a relation that no longer exists.
bool is_number(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

void read_roles_and_databases(pqxx::connection& connection, NameCache& names,
                              NameCache::Clock::time_point now) {
  std::unordered_map<NameCache::Oid, std::string> databases;
  std::unordered_map<NameCache::Oid, NameCache::Role> roles;
  pqxx::nontransaction tx(connection);
  for (const pqxx::row& row : tx.exec("SELECT oid::int8, datname FROM pg_catalog.pg_database")) {
    databases.emplace(row[0].as<NameCache::Oid>(), row[1].as<std::string>());
  }
  for (const pqxx::row& row :
       tx.exec("SELECT oid::int8, rolname, rolsuper FROM pg_catalog.pg_roles")) {
    roles.emplace(row[0].as<NameCache::Oid>(),
                  NameCache::Role{row[1].as<std::string>(), row[2].as<bool>()});
  }
  names.set_roles_and_databases(std::move(databases), std::move(roles), now);
}

void read_relation_names(pqxx::connection& connection, NameCache& names,
                         const std::vector<NameCache::Oid>& oids,
                         NameCache::Clock::time_point now) {
  std::vector<std::pair<NameCache::Oid, std::optional<std::string>>> found;
  pqxx::nontransaction tx(connection);
  const pqxx::result rows = tx.exec_params(
      "SELECT o::int8, o::pg_catalog.regclass::text FROM pg_catalog.unnest($1::oid[]) AS o",
      oid_array(oids));
  for (const pqxx::row& row : rows) {
    const std::string name = row[1].as<std::string>();
    found.emplace_back(row[0].as<NameCache::Oid>(),
                       is_number(name) ? std::nullopt : std::optional(name));
  }
  names.set_relations(found, now);
}

}  // namespace lockwatch
