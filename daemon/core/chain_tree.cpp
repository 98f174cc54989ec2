#include "core/chain_tree.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/chain_report.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_app_chars = 20;
constexpr int k_max_indent = 24;  // deeper levels keep this indent, so lines stay bounded

using PidSet = std::set<int>;
using SortedPids = std::vector<int>;  // sorted, for binary_search: a queue's sets are large

bool contains(const SortedPids& pids, int pid) {
  return std::binary_search(pids.begin(), pids.end(), pid);
}

// Who waits on whom, folded onto parallel-group leaders as in the lock graph.
class BlockingEdges {
 public:
  explicit BlockingEdges(const Observation& obs) {
    for (const Backend& b : obs.activity().backends) {
      const int waiter = b.leader_pid != 0 ? b.leader_pid : b.pid;
      for (int blocker : b.blocked_by) {
        if (blocker != waiter) m_blockers[waiter].insert(blocker);
      }
    }
  }

  const PidSet& blockers(int pid) const {
    static const PidSet k_none;
    const auto it = m_blockers.find(pid);
    return it == m_blockers.end() ? k_none : it->second;
  }

  // Everything that holds `pid` up, directly or not; memoised for every backend on the way.
  const SortedPids& ancestors(int pid) const {
    if (const auto it = m_ancestors.find(pid); it != m_ancestors.end()) return it->second;
    // Post-order without recursion: a chain may be as long as the lock queue.
    std::set<int> open;
    std::vector<std::pair<int, bool>> stack{{pid, false}};
    while (!stack.empty()) {
      const auto [v, expanded] = stack.back();
      if (m_ancestors.count(v)) {
        stack.pop_back();
      } else if (!expanded) {
        stack.back().second = true;
        open.insert(v);
        for (int b : blockers(v)) {
          if (!m_ancestors.count(b) && !open.count(b)) stack.emplace_back(b, false);
        }
      } else {
        stack.pop_back();
        open.erase(v);
        m_ancestors.emplace(v, settle_ancestors(v));
      }
    }
    return m_ancestors.at(pid);
  }

  // The blockers `pid` is drawn under: a blocker that also holds up another of them is
  // implied by that one (unless they hold each other up, as in a deadlock cycle).
  std::vector<int> direct_blockers(int pid) const {
    const PidSet& all = blockers(pid);
    if (all.size() < 2) return {all.begin(), all.end()};
    // In a queue the nearest blocker implies all the others: trying the one with the most
    // ancestors first keeps a queue of N conflicting requests near N^2 rather than N^4.
    std::vector<std::pair<const SortedPids*, int>> by_reach;
    for (int b : all) by_reach.emplace_back(&ancestors(b), b);
    std::stable_sort(by_reach.begin(), by_reach.end(), [](const auto& x, const auto& y) {
      return x.first->size() > y.first->size();
    });
    std::vector<int> kept;
    for (int a : all) {
      const bool implied = std::any_of(by_reach.begin(), by_reach.end(), [&](const auto& b) {
        return b.second != a && contains(*b.first, a) && !contains(ancestors(a), b.second);
      });
      if (!implied) kept.push_back(a);
    }
    return kept;
  }

  const std::map<int, PidSet>& all() const { return m_blockers; }

 private:
  // From the blockers' own ancestors, largest first: a blocker already among them adds
  // nothing (anc(b) is inside anc(c) when b is in anc(c)), which keeps a queue of N
  // conflicting requests near N^2 log N. A blocker still open means a cycle: walk instead.
  SortedPids settle_ancestors(int v) const {
    std::vector<const SortedPids*> sets;
    std::vector<int> order(blockers(v).begin(), blockers(v).end());
    for (int b : order) {
      const auto it = m_ancestors.find(b);
      if (it == m_ancestors.end()) return walk_ancestors(v);
      sets.push_back(&it->second);
    }
    std::vector<std::size_t> index(order.size());
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
    std::sort(index.begin(), index.end(),
              [&](std::size_t a, std::size_t b) { return sets[a]->size() > sets[b]->size(); });
    SortedPids result;
    for (std::size_t i : index) {
      if (contains(result, order[i])) continue;
      SortedPids add = *sets[i];
      add.insert(std::upper_bound(add.begin(), add.end(), order[i]), order[i]);
      SortedPids merged;
      std::set_union(result.begin(), result.end(), add.begin(), add.end(),
                     std::back_inserter(merged));
      result = std::move(merged);
    }
    return result;
  }

  SortedPids walk_ancestors(int v) const {
    PidSet seen;
    std::vector<int> stack(blockers(v).begin(), blockers(v).end());
    while (!stack.empty()) {
      const int current = stack.back();
      stack.pop_back();
      if (!seen.insert(current).second) continue;
      for (int next : blockers(current)) stack.push_back(next);
    }
    return {seen.begin(), seen.end()};
  }

  std::map<int, PidSet> m_blockers;
  mutable std::map<int, SortedPids> m_ancestors;
};

std::string join_pids(const std::vector<int>& pids) {
  std::string out;
  for (int pid : pids) out += (out.empty() ? "" : ", ") + std::to_string(pid);
  return out;
}

class TreeRenderer {
 public:
  TreeRenderer(const Observation& obs, const TreeOptions& options)
      : m_obs(obs), m_options(options), m_edges(obs) {
    for (const auto& [waiter, blockers] : m_edges.all()) {
      if (!drawn_at_all(waiter)) continue;
      std::vector<int>& direct = m_direct[waiter] = m_edges.direct_blockers(waiter);
      for (int blocker : direct) {
        if (drawn_at_all(blocker)) m_children[blocker].push_back(waiter);
      }
    }
    for (auto& [pid, children] : m_children) sort_by_wait(children);
    measure();
  }

  std::string render() {
    std::string out;
    for (const RootBlocker& root : m_obs.locks().roots) {
      if (drawn_at_all(root.pid)) out += render_from(root);
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

  bool drawn_at_all(int pid) const {
    if (!m_options.focus) return true;
    return pid == *m_options.focus || contains(m_edges.ancestors(*m_options.focus), pid);
  }

  // Longest-waiting first: the order the lock queue serves them in.
  void sort_by_wait(std::vector<int>& pids) const {
    auto wait = [this](int pid) {
      const Backend* b = m_obs.backend(pid);
      return b ? lock_wait_seconds(*b, m_obs.now()) : 0.0;
    };
    std::sort(pids.begin(), pids.end(),
              [&](int a, int b) { return wait(a) != wait(b) ? wait(a) > wait(b) : a < b; });
  }

  void measure() {
    for (const auto& [waiter, blockers] : m_edges.all()) {
      fit(waiter);
      for (int blocker : blockers) fit(blocker);
    }
  }

  void fit(int pid) {
    if (!drawn_at_all(pid)) return;
    m_pid_width = std::max(m_pid_width, std::to_string(pid).size());
    m_app_width = std::max(m_app_width, display_width(app(pid)));
  }

  std::string app(int pid) const {
    const Backend* b = m_obs.backend(pid);
    if (!b || b->application_name.empty()) return "-";
    return shorten(b->application_name, k_app_chars);
  }

  std::string status(int pid) const {
    const Backend* b = m_obs.backend(pid);
    if (!b) return describe_state(m_obs, pid);
    const Micros now = m_obs.now();
    if (b->waiting_on_lock()) return "waiting " + whole_seconds(lock_wait_seconds(*b, now));
    return describe_state(m_obs, pid) + "  " + whole_seconds(seconds_since(b->state_change, now));
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
    const PidSet& cycle = m_edges.blockers(f.pid);
    if (f.depth == 0 && !cycle.empty()) {
      out.push_back("(deadlock cycle with " + join_pids({cycle.begin(), cycle.end()}) + ")");
    } else if (const auto others = other_blockers(f); f.depth > 0 && !others.empty()) {
      out.push_back("(also blocked by " + join_pids(others) + ")");
    }
    if (repeated && m_children.count(f.pid)) out.push_back("(its waiters are shown above)");
    if (m_options.focus && f.pid == *m_options.focus && !m_options.focus_label.empty()) {
      out.push_back("(" + m_options.focus_label + ")");
    }
    return out;
  }

  std::string line(const Frame& f, bool repeated) const {
    std::string text = f.depth == 0 ? "" : f.prefix + (f.last ? "└─ " : "├─ ");
    text += pad_right(std::to_string(f.pid), m_pid_width) + "  " +
            pad_right(app(f.pid), m_app_width) + "  " + status(f.pid);
    for (const std::string& m : markers(f, repeated)) text += "  " + m;
    const Backend* b = m_obs.backend(f.pid);
    if (b && !b->query.empty()) text += "  " + shorten(b->query, m_options.query_chars);
    return text + "\n";
  }

  // Depth-first without recursion: a chain may be as long as the lock queue.
  std::string render_from(const RootBlocker& root) {
    std::string out;
    std::vector<Frame> stack{{root.pid, -1, "", true, 0}};
    while (!stack.empty()) {
      Frame f = std::move(stack.back());
      stack.pop_back();
      const bool repeated = !m_drawn.insert(f.pid).second;
      out += line(f, repeated);
      if (repeated) continue;
      push_children(f, stack);
    }
    return out;
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
  const TreeOptions& m_options;
  BlockingEdges m_edges;
  std::map<int, std::vector<int>> m_direct;    // waiter -> the blockers it is drawn under
  std::map<int, std::vector<int>> m_children;  // blocker -> the waiters drawn under it
  PidSet m_drawn;
  std::size_t m_pid_width = 1;
  std::size_t m_app_width = 1;
};

}  // namespace

std::string render_chain_tree(const Observation& observation, const TreeOptions& options) {
  return TreeRenderer(observation, options).render();
}

std::vector<int> roots_in_front_of(const Observation& observation, int pid) {
  const BlockingEdges edges(observation);
  const SortedPids& ancestors = edges.ancestors(pid);
  std::vector<int> roots;
  for (const RootBlocker& root : observation.locks().roots) {
    if (contains(ancestors, root.pid)) roots.push_back(root.pid);
  }
  return roots;
}

}  // namespace lockwatch
