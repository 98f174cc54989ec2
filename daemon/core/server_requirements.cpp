#include "core/server_requirements.hpp"

namespace lockwatch {
namespace {

std::string major_version(int version_num) {
  return std::to_string(version_num / 10000);
}

}  // namespace

std::optional<std::string> unsupported_server(const ServerFacts& facts) {
  if (facts.version_num >= k_min_server_version) return std::nullopt;
  return "PostgreSQL " + major_version(facts.version_num) +
         " is not supported: pg_lockwatch needs PostgreSQL 13 or later (for "
         "pg_stat_activity.leader_pid)";
}

const std::vector<std::string>& checked_privileges() {
  static const std::vector<std::string> k_privileges = {"pg_read_all_stats", "pg_signal_backend"};
  return k_privileges;
}

std::vector<PrivilegeProblem> privilege_problems(const ServerFacts& facts, bool signals) {
  std::vector<PrivilegeProblem> problems;
  if (facts.superuser) return problems;
  if (!facts.read_all_stats) {
    problems.push_back({"pg_read_all_stats",
                        "role " + facts.role +
                            " cannot see other roles' sessions (their state, wait and query are "
                            "hidden, so their lock waits go unseen): GRANT pg_monitor TO " +
                            facts.role});
  }
  if (signals && !facts.signal_backend) {
    problems.push_back({"pg_signal_backend",
                        "role " + facts.role +
                            " cannot signal other roles' sessions, so policies will be denied: "
                            "GRANT pg_signal_backend TO " +
                            facts.role});
  }
  return problems;
}

}  // namespace lockwatch
