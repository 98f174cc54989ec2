#pragma once

#include <pqxx/pqxx>

#include "core/duration.hpp"
#include "core/policy_engine.hpp"

namespace lockwatch {

// Sends `action`'s signal (pg_terminate_backend or pg_cancel_backend) to the target only
// if, in the same statement, it is still the session the decision saw: same pid,
// backend_start, state and state_change. On PostgreSQL 14 and later a termination waits
// up to `exit_wait` for the backend to exit, so `terminated` means it is gone; one that
// had not exited yet is `unknown`, as is a signal whose answer was lost (the connection
// broke or the statement was cancelled after it was sent). Never throws; a refusal is
// Outcome::denied.
Outcome signal_backend(pqxx::connection& connection, PolicyAction action,
                       const SessionIdentity& target, Duration exit_wait, std::string& error);

// How long a termination waits for the exit: a quarter of the statement_timeout the
// statement runs under (so the wait ends first), at most 250 ms.
Duration exit_wait_within(Duration statement_timeout);

}  // namespace lockwatch
