#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"
#include "core/statement_lock.hpp"

namespace lockwatch {

// What a statement does to the session around it, as far as locking goes.
enum class SessionEffect {
  none,
  begin,                // BEGIN / START TRANSACTION: later locks are held until the end
  end,                  // COMMIT / ROLLBACK / END: the transaction's locks are released
  sets_lock_timeout,    // SET [LOCAL] lock_timeout to a value other than 0
  clears_lock_timeout,  // SET lock_timeout = 0, RESET lock_timeout
};

// One step of a safer way to do what a statement does, and the lock that step takes.
struct SaferStep {
  std::string sql;
  std::string lock;  // "SHARE UPDATE EXCLUSIVE on orders: reads and writes go on"
};

// A safer way to do it: in words, and as statements where there are some.
struct SaferForm {
  std::string summary;
  std::vector<SaferStep> steps;
};

// One statement of a migration and the locks it takes, from PostgreSQL's own parse tree.
struct ClassifiedStatement {
  int number = 0;          // 1-based, in input order
  std::string sql;         // its own text, without the trailing semicolon
  std::size_t offset = 0;  // where `sql` starts in the input, in bytes
  std::string kind;        // the command, e.g. "ALTER TABLE", "CREATE INDEX CONCURRENTLY"
  std::vector<StatementLock> locks;
  std::vector<AdvisoryTarget> advisory;
  // False when the locks are a guess: ACCESS EXCLUSIVE on every relation it names (and
  // none at all when it names none); `unclassified` says why.
  bool classified = true;
  std::string unclassified;
  std::string rewrites;  // why it rewrites (copies) a table under its lock; empty: it does not
  std::string scans;     // why it reads a whole table under its lock; empty: it does not
  bool needs_own_transaction = false;  // cannot run inside a transaction block
  bool runs_code = false;  // runs code pg_lockwatch cannot see into (DO, CALL, functions)
  SessionEffect effect = SessionEffect::none;
  // SET search_path: the names later statements resolve against, as a search_path value
  // ("app, public"); empty for RESET or SET ... TO DEFAULT (the role's default).
  std::optional<std::string> search_path;
  std::vector<RelationName> creates;  // relations it creates (later statements may use them)
  std::vector<std::string> notes;     // anything else the operator should know
  std::optional<SaferForm> safer;     // a way to take a weaker or shorter lock, if any
};

// Classifies every statement of `sql` from the JSON parse tree libpg_query made of it
// (pg_query_parse). Fails only when `parse_tree` is not such a tree.
Expected<std::vector<ClassifiedStatement>> classify_statements(std::string_view parse_tree,
                                                               std::string_view sql);

// The strongest mode a statement takes on any relation (ACCESS SHARE when it takes none).
LockMode strongest_mode(const ClassifiedStatement& statement);

}  // namespace lockwatch
