#include "core/lock_graph.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace lockwatch {
namespace {

using Adjacency = std::vector<std::vector<int>>;

// The wait-for graph over dense node ids; an edge runs from a blocker to a waiter it holds up.
struct DenseGraph {
  std::vector<int> pids;  // node -> session
  Adjacency blocks;
  std::vector<int> blocker_count;
};

DenseGraph dense(const WaitGraph& graph) {
  DenseGraph d;
  d.pids = graph.sessions();
  std::unordered_map<int, int> node_of;
  node_of.reserve(d.pids.size());
  for (std::size_t i = 0; i < d.pids.size(); ++i) node_of.emplace(d.pids[i], static_cast<int>(i));
  d.blocks.assign(d.pids.size(), {});
  d.blocker_count.assign(d.pids.size(), 0);
  for (std::size_t i = 0; i < d.pids.size(); ++i) {
    for (const WaitEdge& e : graph.waiters_of(d.pids[i])) {
      d.blocks[i].push_back(node_of.at(e.waiter));
      ++d.blocker_count[node_of.at(e.waiter)];
    }
  }
  return d;
}

// Strongly connected components, emitted sinks first (reverse topological order).
struct Components {
  std::vector<int> component_of;
  std::vector<std::vector<int>> members;
};

class Tarjan {
 public:
  explicit Tarjan(const Adjacency& adj)
      : m_adj(adj), m_index(adj.size(), -1), m_low(adj.size(), 0), m_on_stack(adj.size(), false) {
    m_out.component_of.assign(adj.size(), -1);
  }

  Components run() {
    for (int v = 0; v < static_cast<int>(m_adj.size()); ++v) {
      if (m_index[v] == -1) visit_from(v);
    }
    return std::move(m_out);
  }

 private:
  void open(int v) {
    m_index[v] = m_low[v] = m_counter++;
    m_stack.push_back(v);
    m_on_stack[v] = true;
    m_calls.emplace_back(v, 0);
  }

  // Iterative depth-first search: a long chain must not overflow the call stack.
  void visit_from(int start) {
    open(start);
    while (!m_calls.empty()) {
      const int v = m_calls.back().first;
      std::size_t& next = m_calls.back().second;
      if (next < m_adj[v].size()) {
        const int w = m_adj[v][next++];
        if (m_index[w] == -1) {
          open(w);
        } else if (m_on_stack[w]) {
          m_low[v] = std::min(m_low[v], m_index[w]);
        }
        continue;
      }
      m_calls.pop_back();
      if (m_low[v] == m_index[v]) close_component(v);
      if (!m_calls.empty()) {
        int& parent_low = m_low[m_calls.back().first];
        parent_low = std::min(parent_low, m_low[v]);
      }
    }
  }

  void close_component(int v) {
    const int id = static_cast<int>(m_out.members.size());
    m_out.members.emplace_back();
    int w = -1;
    do {
      w = m_stack.back();
      m_stack.pop_back();
      m_on_stack[w] = false;
      m_out.component_of[w] = id;
      m_out.members.back().push_back(w);
    } while (w != v);
  }

  const Adjacency& m_adj;
  std::vector<int> m_index;
  std::vector<int> m_low;
  std::vector<bool> m_on_stack;
  std::vector<int> m_stack;
  std::vector<std::pair<int, std::size_t>> m_calls;
  int m_counter = 0;
  Components m_out;
};

// The graph of components: acyclic, so chains have a well-defined longest length.
struct Condensed {
  Components components;
  Adjacency successors;
  std::vector<int> incoming;
  std::vector<int> longest;  // longest chain starting at a component, in backends
  std::vector<int> next_on_longest;
};

Condensed condense(const DenseGraph& graph) {
  Condensed c{Tarjan(graph.blocks).run(), {}, {}, {}, {}};
  const std::size_t n = c.components.members.size();
  c.successors.assign(n, {});
  c.incoming.assign(n, 0);
  std::unordered_set<std::uint64_t> seen;
  for (std::size_t from = 0; from < graph.blocks.size(); ++from) {
    for (int to : graph.blocks[from]) {
      const int a = c.components.component_of[from];
      const int b = c.components.component_of[to];
      const auto key = (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
      if (a == b || !seen.insert(key).second) continue;
      c.successors[a].push_back(b);
      ++c.incoming[b];
    }
  }
  // Components come sinks first, so every successor's longest chain is known already.
  c.longest.assign(n, 0);
  c.next_on_longest.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    int best = 0;
    for (int s : c.successors[i]) {
      if (c.longest[s] > best) {
        best = c.longest[s];
        c.next_on_longest[i] = s;
      }
    }
    c.longest[i] = static_cast<int>(c.components.members[i].size()) + best;
  }
  return c;
}

std::vector<int> sorted_pids(const DenseGraph& graph, const std::vector<int>& nodes) {
  std::vector<int> pids;
  for (int node : nodes) pids.push_back(graph.pids[node]);
  std::sort(pids.begin(), pids.end());
  return pids;
}

// The pids along the longest chain from component `start`; a cycle contributes all members.
std::vector<int> longest_chain(const DenseGraph& graph, const Condensed& c, int start, int root) {
  std::vector<int> chain{root};
  for (int comp = start; comp != -1; comp = c.next_on_longest[comp]) {
    for (int pid : sorted_pids(graph, c.components.members[comp])) {
      if (pid != root) chain.push_back(pid);
    }
  }
  return chain;
}

// Every backend the root component holds up, nearest first.
std::vector<int> held_up(const DenseGraph& graph, const Condensed& c, int start, int root) {
  std::vector<int> waiters;
  for (int pid : sorted_pids(graph, c.components.members[start])) {
    if (pid != root) waiters.push_back(pid);
  }
  std::vector<bool> seen(c.successors.size(), false);
  std::deque<int> queue{start};
  seen[start] = true;
  while (!queue.empty()) {
    const int comp = queue.front();
    queue.pop_front();
    for (int next : c.successors[comp]) {
      if (seen[next]) continue;
      seen[next] = true;
      queue.push_back(next);
      for (int pid : sorted_pids(graph, c.components.members[next])) waiters.push_back(pid);
    }
  }
  return waiters;
}

double longest_wait(const std::vector<int>& pids, const SessionWaits& waits) {
  double longest = 0;
  for (int pid : pids) {
    const auto it = waits.find(pid);
    if (it != waits.end()) longest = std::max(longest, it->second);
  }
  return longest;
}

RootBlocker make_root(const DenseGraph& graph, const Condensed& c, int comp,
                      const SessionWaits& waits) {
  const std::vector<int> members = sorted_pids(graph, c.components.members[comp]);
  RootBlocker root;
  root.pid = members.front();
  if (members.size() > 1) root.cycle = members;
  root.longest_chain = longest_chain(graph, c, comp, root.pid);
  root.max_chain_length = static_cast<int>(root.longest_chain.size());
  root.waiters = held_up(graph, c, comp, root.pid);
  root.blocked_total = static_cast<int>(root.waiters.size());
  root.longest_wait_seconds = longest_wait(root.waiters, waits);
  return root;
}

bool ranks_before(const RootBlocker& a, const RootBlocker& b) {
  if (a.blocked_total != b.blocked_total) return a.blocked_total > b.blocked_total;
  if (a.max_chain_length != b.max_chain_length) return a.max_chain_length > b.max_chain_length;
  return a.pid < b.pid;
}

}  // namespace

LockAnalysis analyse_locks(const WaitGraph& graph, const SessionWaits& waits) {
  LockAnalysis analysis;
  analysis.waiting = static_cast<int>(graph.waiting_backends());
  for (const auto& [session, seconds] : waits) {
    analysis.longest_wait_seconds = std::max(analysis.longest_wait_seconds, seconds);
  }
  const DenseGraph d = dense(graph);
  analysis.blocked = static_cast<int>(
      std::count_if(d.blocker_count.begin(), d.blocker_count.end(), [](int n) { return n > 0; }));
  const Condensed condensed = condense(d);
  for (std::size_t comp = 0; comp < condensed.incoming.size(); ++comp) {
    const auto& members = condensed.components.members[comp];
    const bool cycle = members.size() > 1;
    if (condensed.incoming[comp] != 0) continue;
    // A waiter with no blocker the graph can name holds nobody up as a root would: the
    // lock snapshot says it waits, so it is not the cause (see LockAnalysis::unexplained).
    if (!cycle && graph.is_waiting(d.pids[members.front()])) {
      analysis.unexplained.push_back(d.pids[members.front()]);
      continue;
    }
    if (condensed.successors[comp].empty() && !cycle) continue;
    analysis.roots.push_back(make_root(d, condensed, static_cast<int>(comp), waits));
    analysis.max_chain_length =
        std::max(analysis.max_chain_length, analysis.roots.back().max_chain_length);
  }
  std::sort(analysis.roots.begin(), analysis.roots.end(), ranks_before);
  std::sort(analysis.unexplained.begin(), analysis.unexplained.end());
  return analysis;
}

}  // namespace lockwatch
