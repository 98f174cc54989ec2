#include "service/policy_actions.hpp"

#include <algorithm>
#include <cmath>

#include "core/json_writer.hpp"
#include "pg/termination.hpp"

namespace lockwatch {
namespace {

std::string whole_seconds(double seconds) {
  return std::to_string(static_cast<long long>(std::floor(seconds))) + "s";
}

bool is_root(const Observation& observation, int pid) {
  const auto& roots = observation.locks().roots;
  return std::any_of(roots.begin(), roots.end(),
                     [pid](const RootBlocker& r) { return r.pid == pid; });
}

}  // namespace

ActionReport PolicyActions::run(const Observation& observation, const Config& config,
                                pqxx::connection& connection) {
  ActionReport report;
  const auto now = std::chrono::steady_clock::now();
  // Signals earlier polls could not see land: audited before anything new is decided.
  report.news = m_engine.confirm(observation, now);
  const Duration exit_wait = exit_wait_within(config.watch.statement_timeout);
  for (Decision& d : m_engine.decide(observation, config.safety, config.policies, now)) {
    if (d.outcome == Outcome::pending) {
      // Once the connection is lost nothing more is sent; these are decided again on the
      // next poll, not recorded as failures.
      if (!connection.is_open()) continue;
      d.outcome = signal_backend(connection, d.action, d.target, exit_wait, d.reason);
      while (!d.reason.empty() && d.reason.back() == '\n') d.reason.pop_back();
    }
    if (is_root(observation, d.target.pid)) {
      report.verdicts.push_back(RootVerdict{d.target.pid, d.policy,
                                            std::string(to_string(d.action)),
                                            std::string(to_string(d.outcome))});
    }
    if (m_engine.note_outcome(d)) report.news.push_back(std::move(d));
  }
  return report;
}

std::string audit_line(const Decision& d) {
  std::string line =
      "policy action: outcome=" + std::string(to_string(d.outcome)) +
      " policy=" + json_quote(d.policy) + " action=" + std::string(to_string(d.action)) +
      " pid=" + std::to_string(d.target.pid) + " user=" + json_quote(d.usename) +
      " application=" + json_quote(d.application_name) + " database=" + json_quote(d.datname) +
      " client=" + json_quote(d.client_addr) +
      (d.pooler_client.empty() ? "" : " pooler_client=" + json_quote(d.pooler_client)) +
      " state=" + json_quote(d.target.state) + " state_age=" + whole_seconds(d.state_age_seconds) +
      " xact_age=" + whole_seconds(d.xact_age_seconds) +
      " blocked=" + std::to_string(d.blocked_total) +
      " blocked_wait=" + whole_seconds(d.blocked_wait_seconds);
  if (!d.reason.empty()) line += " reason=" + json_quote(d.reason);
  return line + " query=" + json_quote(d.query);
}

}  // namespace lockwatch
