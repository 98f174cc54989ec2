#pragma once

#include <pqxx/pqxx>

#include "core/policy_engine.hpp"

namespace lockwatch {

// Sends `action`'s signal (pg_terminate_backend or pg_cancel_backend) to the target only
// if, in the same statement, it is still the session the decision saw: same pid,
// backend_start, state and state_change. Never throws; a refusal is Outcome::denied.
Outcome signal_backend(pqxx::connection& connection, PolicyAction action,
                       const SessionIdentity& target, std::string& error);

}  // namespace lockwatch
