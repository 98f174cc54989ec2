#pragma once

#include <string>
#include <vector>

#include "core/ddl_classifier.hpp"

namespace lockwatch {

// One piece of advice about a statement of a migration.
struct Advice {
  // "unclassified", "rewrite", "scan", "safer", "lock_timeout", "transaction",
  // "own_transaction", "new_relation" or "note"
  std::string kind;
  std::string text;
};

// Advice for each statement of a migration, read in order: what in it is dangerous (a
// rewrite, a scan under a lock that blocks writes), its safer form, a missing
// lock_timeout (unless `server_lock_timeout`: the role's default is not 0), locks an
// earlier statement of the same transaction still holds, CONCURRENTLY inside a
// transaction block, and relations an earlier statement creates (nobody else uses them).
std::vector<std::vector<Advice>> advise(const std::vector<ClassifiedStatement>& statements,
                                        bool server_lock_timeout);

// True when the lock blocks writes (conflicts with ROW EXCLUSIVE), so a wait for it, or
// holding it long, holds up the application.
bool blocks_writes(LockMode mode);

}  // namespace lockwatch
