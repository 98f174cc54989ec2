#include "core/activity.hpp"

namespace lockwatch {

double seconds_since(const std::optional<Micros>& since, Micros now) {
  if (!since || *since > now) return 0.0;
  return static_cast<double>(now - *since) / 1e6;
}

std::string state_label(const std::string& state) {
  std::string label;
  label.reserve(state.size());
  for (char c : state) {
    if (c == '(' || c == ')') continue;
    label += (c == ' ') ? '_' : c;
  }
  return label;
}

const std::vector<std::string>& all_state_labels() {
  static const std::vector<std::string> k_labels = {"active",
                                                    "idle",
                                                    "idle_in_transaction",
                                                    "idle_in_transaction_aborted",
                                                    "fastpath_function_call",
                                                    "disabled"};
  return k_labels;
}

ActivitySummary summarise(const std::vector<Backend>& backends) {
  ActivitySummary summary;
  const auto earliest = [](std::optional<Micros>& slot, const std::optional<Micros>& t) {
    if (t && (!slot || *t < *slot)) slot = t;
  };
  for (const Backend& b : backends) {
    if (!b.is_client()) continue;
    ++summary.client_states[b.state];
    earliest(summary.oldest_xact_start, b.xact_start);
    if (b.state.starts_with("idle in transaction")) {
      earliest(summary.oldest_idle_in_transaction, b.state_change);
    }
  }
  return summary;
}

}  // namespace lockwatch
