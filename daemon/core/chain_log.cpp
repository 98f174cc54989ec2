#include "core/chain_log.hpp"

#include "core/session_description.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_log_query_chars = 60;
constexpr std::size_t k_detailed = 2;  // the root and its first waiter

// The same root across polls: a reused pid is another session, a prepared transaction is
// its gid.
std::string identity(const Observation& obs, int session) {
  if (const PreparedXact* p = obs.prepared(session)) return "gid:" + p->gid;
  const Backend* b = obs.backend(session);
  return std::to_string(session) + ":" + std::to_string(b ? b->backend_start.value_or(0) : 0);
}

}  // namespace

int magnitude(int count) {
  if (count < 10) return count;
  int bucket = 10;
  while (count / bucket >= 10) bucket *= 10;
  return bucket;
}

std::string describe_chain(const Observation& obs, const RootBlocker& root,
                           std::size_t max_sessions) {
  std::string text;
  const std::size_t listed =
      std::min(root.longest_chain.size(), std::max<std::size_t>(1, max_sessions));
  for (std::size_t i = 0; i < listed; ++i) {
    const int session = root.longest_chain[i];
    if (i > 0) text += " -> ";
    text += is_prepared_session(session) ? "prepared" : std::to_string(session);
    if (i < k_detailed) text += " (" + describe_backend(obs, session, k_log_query_chars) + ")";
  }
  if (listed < root.longest_chain.size()) {
    text += " -> ... (" + std::to_string(root.longest_chain.size()) + " sessions in all)";
  }
  if (!root.cycle.empty()) text += " [deadlock cycle]";
  return text;
}

std::vector<std::string> ChainLog::update(const Observation& obs) {
  std::vector<std::string> lines;
  std::map<std::string, Logged> now_logged;
  for (const RootBlocker& root : obs.locks().roots) {
    Logged entry{session_name(obs, root.pid), magnitude(root.max_chain_length),
                 magnitude(root.blocked_total), pooler_suffix(obs, root.pid)};
    const std::string key = identity(obs, root.pid);
    const auto before = m_logged.find(key);
    const bool news = before == m_logged.end() || before->second.chain != entry.chain ||
                      before->second.held_up != entry.held_up ||
                      (!entry.pooler.empty() && entry.pooler != before->second.pooler);
    // A pooler not read this time is no news: the client it named last stays remembered.
    if (!news && entry.pooler.empty()) entry.pooler = before->second.pooler;
    if (news) {
      lines.push_back("blocking chain: " + describe_chain(obs, root) + " (holds up " +
                      std::to_string(root.blocked_total) + ")");
    }
    now_logged.emplace(key, std::move(entry));
  }
  for (const auto& [key, entry] : m_logged) {
    if (!now_logged.count(key)) {
      lines.push_back("blocking chain cleared: " + entry.label + " no longer holds anyone up");
    }
  }
  m_logged = std::move(now_logged);
  return lines;
}

}  // namespace lockwatch
