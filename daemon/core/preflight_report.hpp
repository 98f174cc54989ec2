#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/command_requests.hpp"
#include "core/connection_audit.hpp"
#include "core/lock_modes.hpp"
#include "core/observation.hpp"

namespace lockwatch {

// A lock on one of the tables, and the session behind it (none for a prepared transaction
// or a session that ended since).
struct TableLock {
  RelationLock lock;
  std::optional<AuditedSession> session;
};

// Whether a migration could take the lock now without queueing, and if not, why.
struct PreflightReport {
  LockMode lock_mode = LockMode::access_exclusive;
  std::vector<std::string> tables;
  Duration max_xact_age{0};
  std::vector<TableLock> holders;                // granted, conflicting with lock_mode
  std::vector<TableLock> queued;                 // awaited, conflicting with lock_mode
  std::vector<AuditedSession> old_transactions;  // in `database`, older than max_xact_age

  bool clear() const { return holders.empty() && queued.empty() && old_transactions.empty(); }
};

// Sorts the tables' locks into holders and queued requests that conflict with the mode
// (other modes are harmless; so are modes that are not table lock modes, like SIReadLock),
// and lists the client transactions in `database` older than the limit.
PreflightReport assess_preflight(const PreflightRequest& request, const Observation& observation,
                                 const std::vector<RelationLock>& locks,
                                 const std::string& database);

std::string render_preflight_text(const PreflightReport& report);
std::string render_preflight_json(const PreflightReport& report);

}  // namespace lockwatch
