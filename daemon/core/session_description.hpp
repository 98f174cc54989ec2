#pragma once

#include <cstddef>
#include <string>

#include "core/observation.hpp"

namespace lockwatch {

// "idle in transaction", "prepared transaction", "unknown (gone)", or the backend type of a
// background process.
std::string describe_state(const Observation& observation, int session);

// "AccessShareLock", or "RowShareLock+RowExclusiveLock" for several modes.
std::string mode_names(LockMask modes);

// "AccessExclusiveLock on relation public.accounts": what the session waits for (on
// `queue` when given, else its first wait); "" when it waits for nothing.
std::string wanted_lock(const Observation& observation, int session, int queue = -1);

// How an edge holds its waiter up, naming the blocker: "held as AccessShareLock by 65365",
// "queued behind 79250's AccessExclusiveLock", "held as ... by prepared transaction 'x'".
std::string edge_reason(const Observation& observation, const WaitEdge& edge);

// "65365" for a backend, "prepared transaction 'gid'" for a prepared one.
std::string session_name(const Observation& observation, int session);

// "api, idle in transaction 312s: SELECT ..." or "migrate, waiting 45s for
// AccessExclusiveLock on relation public.accounts: ALTER TABLE ..." (`query_chars` of the
// query); for a prepared transaction "prepared transaction 'gid' (owner, 312s)".
// " via pgbouncer 10.0.0.7:53122" for a pooler's server connection the pooler named the
// client of (see pooler_label), else "".
std::string pooler_suffix(const Observation& observation, int session);

std::string describe_backend(const Observation& observation, int session, std::size_t query_chars);

}  // namespace lockwatch
