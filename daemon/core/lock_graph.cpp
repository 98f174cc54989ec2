#include "core/lock_graph.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace lockwatch {
namespace {

using Adjacency = std::vector<std::vector<int>>;

// The wait-for graph over dense node ids; an edge runs from a blocker to a waiter it holds up.
class WaitGraph {
 public:
  int node(int pid) {
    const auto [it, inserted] = m_node_of.try_emplace(pid, static_cast<int>(pids.size()));
    if (inserted) {
      pids.push_back(pid);
      blocks.emplace_back();
      blocker_count.push_back(0);
    }
    return it->second;
  }

  void add_edge(int blocker_pid, int waiter_pid) {
    const int from = node(blocker_pid);
    const int to = node(waiter_pid);
    const auto key = (std::uint64_t(std::uint32_t(from)) << 32) | std::uint32_t(to);
    if (!m_edges.insert(key).second) return;  // parallel workers repeat their leader's pid
    blocks[from].push_back(to);
    ++blocker_count[to];
  }

  std::vector<int> pids;
  Adjacency blocks;
  std::vector<int> blocker_count;

 private:
  std::unordered_map<int, int> m_node_of;
  std::unordered_set<std::uint64_t> m_edges;
};

// A parallel worker waits on behalf of its leader, which is what operators see and signal.
int group_pid(const Backend& backend) {
  return backend.leader_pid != 0 ? backend.leader_pid : backend.pid;
}

WaitGraph build_graph(const ActivitySnapshot& snapshot) {
  WaitGraph graph;
  for (const Backend& backend : snapshot.backends) {
    const int waiter = group_pid(backend);
    for (int blocker : backend.blocked_by) {
      if (blocker != waiter) graph.add_edge(blocker, waiter);
    }
  }
  return graph;
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

Condensed condense(const WaitGraph& graph) {
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

std::vector<int> sorted_pids(const WaitGraph& graph, const std::vector<int>& nodes) {
  std::vector<int> pids;
  for (int node : nodes) pids.push_back(graph.pids[node]);
  std::sort(pids.begin(), pids.end());
  return pids;
}

// The pids along the longest chain from component `start`; a cycle contributes all members.
std::vector<int> longest_chain(const WaitGraph& graph, const Condensed& c, int start, int root) {
  std::vector<int> chain{root};
  for (int comp = start; comp != -1; comp = c.next_on_longest[comp]) {
    for (int pid : sorted_pids(graph, c.components.members[comp])) {
      if (pid != root) chain.push_back(pid);
    }
  }
  return chain;
}

// Every backend the root component holds up, nearest first.
std::vector<int> held_up(const WaitGraph& graph, const Condensed& c, int start, int root) {
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

// The longest lock wait in each parallel group (a worker may wait while its leader does not).
using GroupWaits = std::unordered_map<int, double>;

GroupWaits group_waits(const ActivitySnapshot& snapshot) {
  GroupWaits waits;
  for (const Backend& b : snapshot.backends) {
    if (!b.waiting_on_lock()) continue;
    double& wait = waits[group_pid(b)];
    wait = std::max(wait, lock_wait_seconds(b, snapshot.taken_at));
  }
  return waits;
}

double longest_wait(const std::vector<int>& pids, const GroupWaits& waits) {
  double longest = 0;
  for (int pid : pids) {
    const auto it = waits.find(pid);
    if (it != waits.end()) longest = std::max(longest, it->second);
  }
  return longest;
}

RootBlocker make_root(const WaitGraph& graph, const Condensed& c, int comp,
                      const GroupWaits& waits) {
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

double lock_wait_seconds(const Backend& backend, Micros now) {
  return backend.waiting_on_lock() ? seconds_since(backend.query_start, now) : 0.0;
}

BackendIndex index_backends(const ActivitySnapshot& snapshot) {
  BackendIndex index;
  index.reserve(snapshot.backends.size());
  for (const Backend& backend : snapshot.backends) index.emplace(backend.pid, &backend);
  return index;
}

LockAnalysis analyse_locks(const ActivitySnapshot& snapshot) {
  LockAnalysis analysis;
  const GroupWaits waits = group_waits(snapshot);
  for (const Backend& backend : snapshot.backends) {
    if (!backend.waiting_on_lock()) continue;
    ++analysis.waiting;
    analysis.longest_wait_seconds =
        std::max(analysis.longest_wait_seconds, lock_wait_seconds(backend, snapshot.taken_at));
  }
  const WaitGraph graph = build_graph(snapshot);
  analysis.blocked = static_cast<int>(std::count_if(
      graph.blocker_count.begin(), graph.blocker_count.end(), [](int n) { return n > 0; }));
  const Condensed condensed = condense(graph);
  for (std::size_t comp = 0; comp < condensed.incoming.size(); ++comp) {
    const bool holds_up_someone =
        !condensed.successors[comp].empty() || condensed.components.members[comp].size() > 1;
    if (condensed.incoming[comp] != 0 || !holds_up_someone) continue;
    analysis.roots.push_back(make_root(graph, condensed, static_cast<int>(comp), waits));
    analysis.max_chain_length =
        std::max(analysis.max_chain_length, analysis.roots.back().max_chain_length);
  }
  std::sort(analysis.roots.begin(), analysis.roots.end(), ranks_before);
  return analysis;
}

}  // namespace lockwatch
