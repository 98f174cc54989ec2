#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "core/chain_report.hpp"
#include "core/config.hpp"
#include "core/policy_engine.hpp"

namespace lockwatch {

// What one poll's policies did.
struct ActionReport {
  std::vector<Decision> news;         // decisions to audit (new session, policy or outcome)
  std::vector<RootVerdict> verdicts;  // the current decision about each root, for /chains
};

// Runs the policy engine on a poll and sends the signals it decides on, on the
// watchdog's own session. Worker thread only.
class PolicyActions {
 public:
  ActionReport run(const Observation& observation, const Config& config,
                   pqxx::connection& connection);

  // The backends the next poll must return whatever they are doing: those whose signal
  // awaits confirmation.
  std::vector<int> watched_pids() const { return m_engine.awaiting_confirmation(); }

 private:
  PolicyEngine m_engine;
};

// The audit line for one decision: outcome, policy, action, who, ages, whom it held up.
std::string audit_line(const Decision& decision);

}  // namespace lockwatch
