#include "core/ddl_advice.hpp"

#include <algorithm>
#include <map>

namespace lockwatch {
namespace {

// The name as later statements would write it: unqualified names match either way.
bool same_relation(const RelationName& a, const RelationName& b) {
  return a.name == b.name && (a.schema.empty() || b.schema.empty() || a.schema == b.schema);
}

struct Held {
  LockMode mode;
  int statement;
  std::string relation;
};

// What the statements before the current one have done to the session.
class AdviceState {
 public:
  explicit AdviceState(bool server_lock_timeout) : m_lock_timeout(server_lock_timeout) {}

  std::vector<Advice> advise(const ClassifiedStatement& s, std::size_t total) {
    std::vector<Advice> out;
    const std::vector<const StatementLock*> existing = on_existing(s, out);
    if (!s.classified) {
      out.push_back({"unclassified", s.unclassified +
                                         "; assumed ACCESS EXCLUSIVE on every relation it "
                                         "names, and it cannot be called clear"});
    }
    if (!s.rewrites.empty()) {
      out.push_back({"rewrite", "rewrites the table (" + s.rewrites +
                                    "): its lock is held until the copy is done"});
    }
    const LockMode strongest = strongest_of(existing);
    if (!s.scans.empty() && blocks_writes(strongest) && !existing.empty()) {
      out.push_back({"scan", s.scans + ", holding " + sql_name(strongest)});
    }
    if (s.safer && !existing.empty()) out.push_back({"safer", s.safer->summary});
    own_transaction(s, total, out);
    if (blocks_writes(strongest) && !existing.empty() && !m_lock_timeout) {
      out.push_back({"lock_timeout",
                     "no lock_timeout is set before it: while it waits for " + sql_name(strongest) +
                         ", every query that needs " + existing.front()->relation.sql() +
                         " queues behind it. SET lock_timeout = '2s' first, or run it with "
                         "pg_lockwatch ddl, which sets one for every attempt and retries"});
    }
    held_in_transaction(existing, out);
    for (const std::string& note : s.notes) out.push_back({"note", note});
    update(s, existing);
    return out;
  }

 private:
  // The statement's locks on relations that exist before the migration; notes the others.
  std::vector<const StatementLock*> on_existing(const ClassifiedStatement& s,
                                                std::vector<Advice>& out) {
    std::vector<const StatementLock*> existing;
    for (const StatementLock& t : s.locks) {
      const auto created = std::find_if(m_created.begin(), m_created.end(), [&](const auto& c) {
        return same_relation(c.first, t.relation);
      });
      if (created == m_created.end()) {
        existing.push_back(&t);
        continue;
      }
      out.push_back({"new_relation", t.relation.sql() + " is created by statement " +
                                         std::to_string(created->second) +
                                         ": nobody else can be using it yet"});
    }
    return existing;
  }

  static LockMode strongest_of(const std::vector<const StatementLock*>& targets) {
    LockMode mode = LockMode::access_share;
    for (const StatementLock* t : targets) {
      if (static_cast<int>(t->mode) > static_cast<int>(mode)) mode = t->mode;
    }
    return mode;
  }

  void own_transaction(const ClassifiedStatement& s, std::size_t total, std::vector<Advice>& out) {
    if (!s.needs_own_transaction) return;
    if (m_transaction != 0) {
      out.push_back({"own_transaction", s.kind +
                                            " cannot run inside a transaction block: here "
                                            "it fails, inside the transaction statement " +
                                            std::to_string(m_transaction) + " began"});
    } else if (total > 1) {
      out.push_back({"own_transaction",
                     "run it on its own: sent with other statements in one query string "
                     "(pg_lockwatch ddl --file, psql -c), it runs in an implicit transaction "
                     "block, where " +
                         s.kind + " fails"});
    }
  }

  void held_in_transaction(const std::vector<const StatementLock*>& existing,
                           std::vector<Advice>& out) {
    if (m_transaction == 0 || existing.empty() || m_held.empty()) return;
    std::string held;
    for (const auto& [name, h] : m_held) {
      if (!blocks_writes(h.mode)) continue;
      held += (held.empty() ? "" : ", ") + sql_name(h.mode) + " on " + h.relation + " (statement " +
              std::to_string(h.statement) + ")";
    }
    if (held.empty()) return;
    out.push_back(
        {"transaction", "runs in the transaction statement " + std::to_string(m_transaction) +
                            " began, which already "
                            "holds " +
                            held + ": those are held while this statement waits and runs"});
  }

  void update(const ClassifiedStatement& s, const std::vector<const StatementLock*>& existing) {
    switch (s.effect) {
      case SessionEffect::begin:
        m_transaction = s.number;
        m_held.clear();
        break;
      case SessionEffect::end:
        m_transaction = 0;
        m_held.clear();
        break;
      case SessionEffect::sets_lock_timeout:
        m_lock_timeout = true;
        break;
      case SessionEffect::clears_lock_timeout:
        m_lock_timeout = false;
        break;
      case SessionEffect::none:
        break;
    }
    if (m_transaction != 0) {
      for (const StatementLock* t : existing) {
        const std::string name = t->relation.sql();
        const auto it = m_held.find(name);
        if (it == m_held.end() || static_cast<int>(t->mode) > static_cast<int>(it->second.mode)) {
          m_held[name] = Held{t->mode, s.number, name};
        }
      }
    }
    for (const RelationName& created : s.creates) m_created.emplace_back(created, s.number);
  }

  bool m_lock_timeout;
  int m_transaction = 0;  // the statement that began the open transaction; 0: none
  std::map<std::string, Held> m_held;
  std::vector<std::pair<RelationName, int>> m_created;
};

}  // namespace

bool blocks_writes(LockMode mode) {
  return conflicts(mode, LockMode::row_exclusive);
}

std::vector<std::vector<Advice>> advise(const std::vector<ClassifiedStatement>& statements,
                                        bool server_lock_timeout) {
  AdviceState state(server_lock_timeout);
  std::vector<std::vector<Advice>> out;
  for (const ClassifiedStatement& s : statements) out.push_back(state.advise(s, statements.size()));
  return out;
}

}  // namespace lockwatch
