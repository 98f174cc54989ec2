#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lockwatch {

// Names of databases, roles and relations by oid, kept across polls and reconnects. The
// cache decides what to read and when; the PostgreSQL edge reads it (apart from the poll
// statement, under lock_timeout) and reports back. A failed read only delays the next one:
// unknown names show as "oid:N", and an unknown role counts as a superuser, so no policy
// ever acts on a session it cannot name.
class NameCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Oid = std::uint32_t;

  struct Role {
    std::string name;
    bool superuser = true;
  };

  // What to read now.
  struct Wanted {
    bool roles_and_databases = false;  // re-read pg_database and pg_roles whole
    std::vector<Oid> relations;        // resolve these relation oids
    bool empty() const { return !roles_and_databases && relations.empty(); }
  };

  // Roles and databases are re-read when an unknown oid shows up and at least every
  // `refresh` (a rename or ALTER ROLE ... SUPERUSER must be seen); relations when unknown
  // or older than `refresh`. No read is tried again within k_retry (or `refresh`, when
  // shorter) of the last one.
  static constexpr auto k_retry = std::chrono::seconds(10);
  static constexpr std::size_t k_max_relations = 10'000;

  explicit NameCache(Clock::duration refresh = std::chrono::minutes(1)) : m_refresh(refresh) {}
  void set_refresh(Clock::duration refresh) { m_refresh = refresh; }

  Wanted wanted(const std::vector<Oid>& databases, const std::vector<Oid>& roles,
                const std::vector<Oid>& relations, Clock::time_point now) const;

  void set_roles_and_databases(std::unordered_map<Oid, std::string> databases,
                               std::unordered_map<Oid, Role> roles, Clock::time_point now);
  // `names` holds an entry for every relation asked for; nullopt: no such relation (any
  // more). Past k_max_relations the cache starts over.
  void set_relations(const std::vector<std::pair<Oid, std::optional<std::string>>>& names,
                     Clock::time_point now);
  void roles_and_databases_failed(Clock::time_point now);
  void relations_failed(Clock::time_point now);

  std::string database(Oid oid) const;  // "" for 0, "oid:N" when unknown
  Role role(Oid oid) const;             // {} for 0, {"oid:N", superuser} when unknown
  std::optional<std::string> relation(Oid oid) const;
  std::size_t relation_count() const { return m_relations.size(); }

 private:
  struct Relation {
    std::optional<std::string> name;
    Clock::time_point read;
  };

  bool retry_due(const std::optional<Clock::time_point>& last, Clock::time_point now) const;

  Clock::duration m_refresh;
  std::unordered_map<Oid, std::string> m_databases;
  std::unordered_map<Oid, Role> m_roles;
  std::unordered_map<Oid, Relation> m_relations;
  std::optional<Clock::time_point> m_catalogs_read;     // last success
  std::optional<Clock::time_point> m_catalogs_tried;    // last attempt
  std::optional<Clock::time_point> m_relations_failed;  // last failed attempt
};

}  // namespace lockwatch
