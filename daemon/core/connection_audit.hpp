#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/activity.hpp"
#include "core/json_writer.hpp"

namespace lockwatch {

// One session as the audit lists it.
struct AuditedSession {
  int pid = 0;
  std::string usename;
  std::string application_name;
  std::string client_addr;
  std::string datname;
  std::string state;
  double xact_age_seconds = 0;
  double state_age_seconds = 0;
  std::string query;
};

// (value, number of client backends), most frequent first, then by value.
using Counts = std::vector<std::pair<std::string, int>>;

// Who is connected, and which transactions are oldest: the checks an operator makes before
// a migration or during an incident. Client backends only.
struct ConnectionAudit {
  int client_backends = 0;
  Counts by_state;
  Counts by_database;
  Counts by_user;
  Counts by_application;
  std::vector<AuditedSession> oldest_transactions;         // by transaction age
  std::vector<AuditedSession> oldest_idle_in_transaction;  // by time idle
};

// Counts the snapshot's client backends and lists the `listed` oldest of each kind.
ConnectionAudit audit_connections(const ActivitySnapshot& snapshot, std::size_t listed = 5);

// The audit as aligned text, a few lines per section.
std::string render_audit_text(const ConnectionAudit& audit);

// The audit as one JSON object ({"client_backends": 7, "by_state": {...}, ...}).
std::string render_audit_json(const ConnectionAudit& audit);

// Sessions as aligned rows: pid, user, application, client, transaction age, state and
// how long in it, query (`query_chars` of it).
std::string render_sessions_text(const std::vector<AuditedSession>& sessions,
                                 std::size_t query_chars = 60);

// One session as a JSON object; several as an array of them.
void write_session_json(JsonWriter& json, const AuditedSession& session);
void write_sessions_json(JsonWriter& json, const std::vector<AuditedSession>& sessions);

// The audit's view of one backend.
AuditedSession audited(const Backend& backend, Micros now);

}  // namespace lockwatch
