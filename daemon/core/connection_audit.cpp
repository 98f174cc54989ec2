#include "core/connection_audit.hpp"

#include <algorithm>
#include <map>

#include "core/json_writer.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

Counts sorted_counts(const std::map<std::string, int>& counts) {
  Counts out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

bool idle_in_transaction(const Backend& b) {
  return b.state.starts_with("idle in transaction");
}

// The `listed` sessions with the largest `age`, oldest first.
template <typename Age>
std::vector<AuditedSession> oldest(std::vector<AuditedSession> sessions, std::size_t listed,
                                   Age age) {
  std::stable_sort(sessions.begin(), sessions.end(),
                   [&](const auto& a, const auto& b) { return age(a) > age(b); });
  if (sessions.size() > listed) sessions.resize(listed);
  return sessions;
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string counts_text(const Counts& counts) {
  std::string out;
  for (const auto& [value, n] : counts) {
    out += (out.empty() ? "" : ", ") + or_dash(value) + " " + std::to_string(n);
  }
  return out.empty() ? "-" : out;
}

void write_counts(JsonWriter& json, const char* key, const Counts& counts) {
  json.key(key).begin_object();
  for (const auto& [value, n] : counts) json.key(value).value(n);
  json.end_object();
}

}  // namespace

AuditedSession audited(const Backend& b, Micros now) {
  return AuditedSession{b.pid,
                        b.usename,
                        b.application_name,
                        b.client_addr,
                        b.datname,
                        b.state,
                        seconds_since(b.xact_start, now),
                        seconds_since(b.state_change, now),
                        b.query};
}

ConnectionAudit audit_connections(const ActivitySnapshot& snapshot, std::size_t listed) {
  ConnectionAudit audit;
  std::map<std::string, int> states, databases, users, applications;
  std::vector<AuditedSession> in_transaction, idle;
  for (const Backend& b : snapshot.backends) {
    if (!b.is_client()) continue;
    ++audit.client_backends;
    ++states[b.state];
    ++databases[b.datname];
    ++users[b.usename];
    ++applications[b.application_name];
    if (b.xact_start) in_transaction.push_back(audited(b, snapshot.taken_at));
    if (idle_in_transaction(b)) idle.push_back(audited(b, snapshot.taken_at));
  }
  audit.by_state = sorted_counts(states);
  audit.by_database = sorted_counts(databases);
  audit.by_user = sorted_counts(users);
  audit.by_application = sorted_counts(applications);
  audit.oldest_transactions =
      oldest(std::move(in_transaction), listed, [](const auto& s) { return s.xact_age_seconds; });
  audit.oldest_idle_in_transaction =
      oldest(std::move(idle), listed, [](const auto& s) { return s.state_age_seconds; });
  return audit;
}

std::string render_sessions_text(const std::vector<AuditedSession>& sessions,
                                 std::size_t query_chars) {
  TextTable table;
  table.add_row({"PID", "USER", "APPLICATION", "CLIENT", "XACT", "STATE", "QUERY"});
  for (const AuditedSession& s : sessions) {
    table.add_row({std::to_string(s.pid), or_dash(s.usename), or_dash(s.application_name),
                   or_dash(s.client_addr), whole_seconds(s.xact_age_seconds),
                   or_dash(s.state) + " " + whole_seconds(s.state_age_seconds),
                   shorten(s.query, query_chars)});
  }
  return table.render();
}

std::string render_audit_text(const ConnectionAudit& audit) {
  TextTable counts;
  counts.add_row({"by state:", counts_text(audit.by_state)});
  counts.add_row({"by database:", counts_text(audit.by_database)});
  counts.add_row({"by user:", counts_text(audit.by_user)});
  counts.add_row({"by application:", counts_text(audit.by_application)});
  std::string out = "client backends: " + std::to_string(audit.client_backends) + "\n";
  out += counts.render();
  out += "oldest transactions:";
  out += audit.oldest_transactions.empty() ? " none\n"
                                           : "\n" + render_sessions_text(audit.oldest_transactions);
  out += "oldest idle in transaction:";
  out += audit.oldest_idle_in_transaction.empty()
             ? " none\n"
             : "\n" + render_sessions_text(audit.oldest_idle_in_transaction);
  return out;
}

void write_session_json(JsonWriter& json, const AuditedSession& s) {
  json.begin_object().key("pid").value(s.pid);
  json.key("usename").value(s.usename);
  json.key("application_name").value(s.application_name);
  json.key("client_addr").value(s.client_addr);
  json.key("datname").value(s.datname);
  json.key("state").value(s.state);
  json.key("xact_age_seconds").value(s.xact_age_seconds);
  json.key("state_age_seconds").value(s.state_age_seconds);
  json.key("query").value(s.query);
  json.end_object();
}

void write_sessions_json(JsonWriter& json, const std::vector<AuditedSession>& sessions) {
  json.begin_array();
  for (const AuditedSession& s : sessions) write_session_json(json, s);
  json.end_array();
}

std::string render_audit_json(const ConnectionAudit& audit) {
  JsonWriter json;
  json.begin_object().key("client_backends").value(audit.client_backends);
  write_counts(json, "by_state", audit.by_state);
  write_counts(json, "by_database", audit.by_database);
  write_counts(json, "by_user", audit.by_user);
  write_counts(json, "by_application", audit.by_application);
  json.key("oldest_transactions");
  write_sessions_json(json, audit.oldest_transactions);
  json.key("oldest_idle_in_transaction");
  write_sessions_json(json, audit.oldest_idle_in_transaction);
  json.end_object();
  return json.str();
}

}  // namespace lockwatch
