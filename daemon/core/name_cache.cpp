#include "core/name_cache.hpp"

#include <algorithm>

namespace lockwatch {

bool NameCache::retry_due(const std::optional<Clock::time_point>& last,
                          Clock::time_point now) const {
  return !last || now - *last >= std::min<Clock::duration>(k_retry, m_refresh);
}

NameCache::Wanted NameCache::wanted(const std::vector<Oid>& databases,
                                    const std::vector<Oid>& roles,
                                    const std::vector<Oid>& relations,
                                    Clock::time_point now) const {
  Wanted out;
  const auto unknown_db = [this](Oid oid) { return oid != 0 && !m_databases.count(oid); };
  const auto unknown_role = [this](Oid oid) { return oid != 0 && !m_roles.count(oid); };
  const bool unknown = std::any_of(databases.begin(), databases.end(), unknown_db) ||
                       std::any_of(roles.begin(), roles.end(), unknown_role);
  const bool stale = !m_catalogs_read || now - *m_catalogs_read >= m_refresh;
  out.roles_and_databases = (unknown || stale) && retry_due(m_catalogs_tried, now);
  if (!retry_due(m_relations_failed, now)) return out;
  for (Oid oid : relations) {
    const auto it = m_relations.find(oid);
    if (it == m_relations.end() || now - it->second.read >= m_refresh) {
      out.relations.push_back(oid);
    }
  }
  std::sort(out.relations.begin(), out.relations.end());
  out.relations.erase(std::unique(out.relations.begin(), out.relations.end()), out.relations.end());
  return out;
}

void NameCache::set_roles_and_databases(std::unordered_map<Oid, std::string> databases,
                                        std::unordered_map<Oid, Role> roles,
                                        Clock::time_point now) {
  m_databases = std::move(databases);
  m_roles = std::move(roles);
  m_catalogs_read = now;
  m_catalogs_tried = now;
}

void NameCache::set_relations(const std::vector<std::pair<Oid, std::optional<std::string>>>& names,
                              Clock::time_point now) {
  if (m_relations.size() + names.size() > k_max_relations) m_relations.clear();
  for (const auto& [oid, name] : names) m_relations[oid] = Relation{name, now};
  m_relations_failed.reset();
}

void NameCache::roles_and_databases_failed(Clock::time_point now) {
  m_catalogs_tried = now;
}

void NameCache::relations_failed(Clock::time_point now) {
  m_relations_failed = now;
}

std::string NameCache::database(Oid oid) const {
  if (oid == 0) return "";
  const auto it = m_databases.find(oid);
  return it == m_databases.end() ? "oid:" + std::to_string(oid) : it->second;
}

NameCache::Role NameCache::role(Oid oid) const {
  if (oid == 0) return Role{"", false};
  const auto it = m_roles.find(oid);
  // An unknown role might be a superuser: say so, so no policy ever signals it unchecked.
  return it == m_roles.end() ? Role{"oid:" + std::to_string(oid), true} : it->second;
}

std::optional<std::string> NameCache::relation(Oid oid) const {
  const auto it = m_relations.find(oid);
  return it == m_relations.end() ? std::nullopt : it->second.name;
}

}  // namespace lockwatch
