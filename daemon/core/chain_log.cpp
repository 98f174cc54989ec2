#include "core/chain_log.hpp"

#include <algorithm>

#include "core/chain_report.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_log_query_chars = 60;

// The same chain, whatever the ages: which backends it holds, and in what order.
std::string signature(const RootBlocker& root) {
  std::vector<int> waiters = root.waiters;
  std::sort(waiters.begin(), waiters.end());
  std::string out;
  for (int pid : root.longest_chain) out += std::to_string(pid) + ">";
  for (int pid : waiters) out += std::to_string(pid) + ",";
  return out;
}

}  // namespace

std::string describe_backend(const Observation& observation, int pid, std::size_t query_chars) {
  const Backend* b = observation.backend(pid);
  if (!b) return describe_state(observation, pid);
  std::string text = b->application_name.empty() ? "-" : b->application_name;
  if (b->waiting_on_lock()) {
    text += ", waiting " + whole_seconds(lock_wait_seconds(*b, observation.now()));
  } else {
    text += ", " + describe_state(observation, pid) + " " +
            whole_seconds(seconds_since(b->state_change, observation.now()));
  }
  if (!b->query.empty()) text += ": " + shorten(b->query, query_chars);
  return text;
}

std::string describe_chain(const Observation& observation, const RootBlocker& root) {
  std::string text;
  for (std::size_t i = 0; i < root.longest_chain.size(); ++i) {
    const int pid = root.longest_chain[i];
    if (i > 0) text += " -> ";
    text += std::to_string(pid);
    if (i < 2) text += " (" + describe_backend(observation, pid, k_log_query_chars) + ")";
  }
  if (!root.cycle.empty()) text += " [deadlock cycle]";
  return text;
}

std::vector<std::string> ChainLog::update(const Observation& observation) {
  std::vector<std::string> lines;
  std::map<int, std::string> now_logged;
  for (const RootBlocker& root : observation.locks().roots) {
    std::string sig = signature(root);
    const auto before = m_logged.find(root.pid);
    if (before == m_logged.end() || before->second != sig) {
      lines.push_back("blocking chain: " + describe_chain(observation, root) + " (holds up " +
                      std::to_string(root.blocked_total) + ")");
    }
    now_logged.emplace(root.pid, std::move(sig));
  }
  for (const auto& [pid, sig] : m_logged) {
    if (!now_logged.count(pid)) {
      lines.push_back("blocking chain cleared: " + std::to_string(pid) +
                      " no longer holds anyone up");
    }
  }
  m_logged = std::move(now_logged);
  return lines;
}

}  // namespace lockwatch
