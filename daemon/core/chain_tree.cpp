#include "core/chain_tree.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

#include "core/chain_report.hpp"
#include "core/lock_description.hpp"
#include "core/session_description.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_app_chars = 20;
constexpr int k_max_indent = 24;  // deeper levels keep this indent, so lines stay bounded

std::string join_pids(const std::vector<int>& pids) {
  std::string out;
  for (int pid : pids) out += (out.empty() ? "" : ", ") + std::to_string(pid);
  return out;
}

// Everything that holds `session` up, directly or not (one breadth-first walk).
std::unordered_set<int> ancestors(const WaitGraph& graph, int session) {
  std::unordered_set<int> seen;
  std::vector<int> todo{session};
  while (!todo.empty()) {
    const int current = todo.back();
    todo.pop_back();
    for (const WaitEdge& e : graph.blockers_of(current)) {
      if (seen.insert(e.blocker).second) todo.push_back(e.blocker);
    }
  }
  return seen;
}

// The blockers a waiter is drawn under: the graph already leaves out blockers implied
// within one queue; across objects, one that also holds up another of them is implied by
// that one (unless they hold each other up, as in a deadlock cycle).
std::vector<int> direct_blockers(const WaitGraph& graph, int waiter) {
  std::vector<int> all;
  for (const WaitEdge& e : graph.blockers_of(waiter)) all.push_back(e.blocker);
  if (all.size() < 2) return all;
  std::map<int, std::unordered_set<int>> reach;
  for (int b : all) reach.emplace(b, ancestors(graph, b));
  std::vector<int> kept;
  for (int a : all) {
    const bool implied = std::any_of(all.begin(), all.end(), [&](int b) {
      return b != a && reach.at(b).count(a) && !reach.at(a).count(b);
    });
    if (!implied) kept.push_back(a);
  }
  return kept;
}

const WaitEdge* edge_between(const WaitGraph& graph, int blocker, int waiter) {
  for (const WaitEdge& e : graph.blockers_of(waiter)) {
    if (e.blocker == blocker) return &e;
  }
  return nullptr;
}

class TreeRenderer {
 public:
  TreeRenderer(const Observation& obs, const TreeOptions& options)
      : m_obs(obs), m_graph(obs.graph()), m_options(options) {
    if (m_options.focus) {
      m_focus_set = ancestors(m_graph, *m_options.focus);
      m_focus_set.insert(*m_options.focus);
    }
    for (int session : m_graph.sessions()) {
      if (!drawn_at_all(session) || m_graph.blockers_of(session).empty()) continue;
      std::vector<int>& direct = m_direct[session] = direct_blockers(m_graph, session);
      for (int blocker : direct) {
        if (drawn_at_all(blocker)) m_children[blocker].push_back(session);
      }
      fit(session);
    }
    for (const RootBlocker& root : m_obs.locks().roots) fit(root.pid);
    for (auto& [pid, children] : m_children) sort_by_wait(children);
  }

  std::string render() {
    std::string out;
    std::size_t drawn = 0;
    int rest = 0;
    int rest_held = 0;
    for (const RootBlocker& root : m_obs.locks().roots) {
      if (!drawn_at_all(root.pid)) continue;
      if (m_options.max_roots != 0 && drawn >= m_options.max_roots) {
        ++rest;
        rest_held += root.blocked_total;
        continue;
      }
      out += render_from(root);
      ++drawn;
    }
    if (rest > 0) {
      out += "... and " + std::to_string(rest) + " more root(s) holding up " +
             std::to_string(rest_held) + " session(s)\n";
    }
    return out;
  }

 private:
  struct Frame {
    int pid;
    int parent;
    std::string prefix;  // what precedes this line's connector
    bool last;
    int depth;
  };

  bool drawn_at_all(int session) const {
    return !m_options.focus || m_focus_set.count(session) != 0;
  }

  // Longest-waiting first: the order the lock queue serves them in.
  void sort_by_wait(std::vector<int>& sessions) const {
    auto wait = [this](int s) { return m_obs.wait_seconds(s); };
    std::sort(sessions.begin(), sessions.end(),
              [&](int a, int b) { return wait(a) != wait(b) ? wait(a) > wait(b) : a < b; });
  }

  void fit(int session) {
    if (!drawn_at_all(session)) return;
    m_pid_width = std::max(m_pid_width, label(session).size());
    m_app_width = std::max(m_app_width, display_width(app(session)));
  }

  std::string label(int session) const {
    return is_prepared_session(session) ? "prepared" : std::to_string(session);
  }

  std::string app(int session) const {
    const Backend* b = m_obs.backend(session);
    if (const PreparedXact* p = m_obs.prepared(session))
      return "'" + shorten(p->gid, k_app_chars) + "'";
    const std::string name =
        !b || b->application_name.empty() ? "-" : shorten(b->application_name, k_app_chars);
    return name + pooler_suffix(m_obs, session);
  }

  std::string status(const Frame& f) const {
    if (m_graph.is_waiting(f.pid)) {
      std::string text = "waiting " + whole_seconds(m_obs.wait_seconds(f.pid));
      const WaitEdge* edge = f.depth > 0 ? edge_between(m_graph, f.parent, f.pid) : nullptr;
      const std::string lock = wanted_lock(m_obs, f.pid, edge ? edge->queue : -1);
      if (!lock.empty()) text += " for " + lock;
      if (edge) text += ", " + edge_reason(m_obs, *edge);
      return text;
    }
    if (const PreparedXact* p = m_obs.prepared(f.pid)) {
      return "prepared transaction  " + whole_seconds(seconds_since(p->prepared_at, m_obs.now()));
    }
    const Backend* b = m_obs.backend(f.pid);
    if (!b) return describe_state(m_obs, f.pid);
    return describe_state(m_obs, f.pid) + "  " +
           whole_seconds(seconds_since(b->state_change, m_obs.now()));
  }

  // The other blockers a waiter is drawn under, besides the one it is drawn under now.
  std::vector<int> other_blockers(const Frame& f) const {
    const auto it = m_direct.find(f.pid);
    std::vector<int> others = it == m_direct.end() ? std::vector<int>{} : it->second;
    others.erase(std::remove(others.begin(), others.end(), f.parent), others.end());
    return others;
  }

  std::vector<std::string> markers(const Frame& f, bool repeated) const {
    std::vector<std::string> out;
    if (f.depth == 0 && !m_graph.blockers_of(f.pid).empty()) {
      std::vector<int> cycle;
      for (const WaitEdge& e : m_graph.blockers_of(f.pid)) cycle.push_back(e.blocker);
      out.push_back("(deadlock cycle with " + join_pids(cycle) + ")");
    } else if (const auto others = other_blockers(f); f.depth > 0 && !others.empty()) {
      out.push_back("(also blocked by " + join_pids(others) + ")");
    }
    if (repeated && m_children.count(f.pid)) out.push_back("(its waiters are shown above)");
    if (m_options.focus && f.pid == *m_options.focus && !m_options.focus_label.empty()) {
      out.push_back("(" + m_options.focus_label + ")");
    }
    return out;
  }

  std::string connector(const Frame& f) const {
    return f.depth == 0 ? "" : f.prefix + (f.last ? "└─ " : "├─ ");
  }

  std::string line(const Frame& f, bool repeated) const {
    std::string text = connector(f) + pad_right(label(f.pid), m_pid_width) + "  " +
                       pad_right(app(f.pid), m_app_width) + "  " + status(f);
    for (const std::string& m : markers(f, repeated)) text += "  " + m;
    const Backend* b = m_obs.backend(f.pid);
    if (b && !b->query.empty()) text += "  " + shorten(b->query, m_options.query_chars);
    return text + "\n";
  }

  // "... and 2979 more held up: 2978 waiting for ExclusiveLock on tuple (0,1) of ..."
  std::string summary(const RootBlocker& root) const {
    std::vector<int> rest;
    for (int s : root.waiters) {
      if (!m_drawn.count(s) && drawn_at_all(s)) rest.push_back(s);
    }
    if (rest.empty()) return "";
    std::string text = "└─ ... and " + std::to_string(rest.size()) + " more held up";
    std::string groups;
    for (const WaiterGroup& g : group_waiters(m_obs, rest)) {
      const LockQueue& q = m_obs.lock_snapshot().queues[static_cast<std::size_t>(g.queue)];
      groups += (groups.empty() ? ": " : "; ") + std::to_string(g.sessions) + " waiting for " +
                pg_locks_name(g.mode) + " on " + describe_target(q.target, m_obs.lock_snapshot()) +
                " (longest " + whole_seconds(g.longest_wait_seconds) + ")";
    }
    return text + groups + "\n";
  }

  // Depth-first without recursion: a chain may be as long as the lock queue.
  std::string render_from(const RootBlocker& root) {
    std::string out;
    std::vector<Frame> stack{{root.pid, -1, "", true, 0}};
    std::size_t waiters = 0;
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      if (f.depth > 0 && m_options.max_waiters != 0 && waiters >= m_options.max_waiters) break;
      const bool repeated = !m_drawn.insert(f.pid).second;
      out += line(f, repeated);
      if (f.depth > 0) ++waiters;
      if (!repeated) push_children(f, stack);
    }
    return out + summary(root);
  }

  void push_children(const Frame& f, std::vector<Frame>& stack) const {
    const auto it = m_children.find(f.pid);
    if (it == m_children.end()) return;
    std::string prefix = f.prefix;
    if (f.depth > 0 && f.depth < k_max_indent) prefix += f.last ? "   " : "│  ";
    const std::vector<int>& children = it->second;
    for (std::size_t i = children.size(); i-- > 0;) {
      stack.push_back({children[i], f.pid, prefix, i + 1 == children.size(), f.depth + 1});
    }
  }

  const Observation& m_obs;
  const WaitGraph& m_graph;
  const TreeOptions& m_options;
  std::unordered_set<int> m_focus_set;
  std::map<int, std::vector<int>> m_direct;    // waiter -> the blockers it is drawn under
  std::map<int, std::vector<int>> m_children;  // blocker -> the waiters drawn under it
  std::set<int> m_drawn;
  std::size_t m_pid_width = 1;
  std::size_t m_app_width = 1;
};

}  // namespace

std::string render_chain_tree(const Observation& observation, const TreeOptions& options) {
  return TreeRenderer(observation, options).render();
}

std::vector<int> roots_in_front_of(const Observation& observation, int pid) {
  const std::unordered_set<int> in_front = ancestors(observation.graph(), pid);
  std::vector<int> roots;
  for (const RootBlocker& root : observation.locks().roots) {
    if (in_front.count(root.pid)) roots.push_back(root.pid);
  }
  return roots;
}

}  // namespace lockwatch
