#include "core/preflight_report.hpp"

#include <algorithm>

#include "core/json_writer.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_query_chars = 60;

bool conflicts_with(const RelationLock& lock, LockMode wanted) {
  const auto mode = parse_lock_mode(lock.mode);
  return mode && conflicts(*mode, wanted);
}

TableLock table_lock(const RelationLock& lock, const Observation& obs) {
  const Backend* b = obs.backend(lock.pid);
  return TableLock{lock, b ? std::optional(audited(*b, obs.now())) : std::nullopt};
}

std::vector<AuditedSession> old_transactions(const Observation& obs, Duration limit,
                                             const std::string& database) {
  std::vector<AuditedSession> out;
  if (limit.count() <= 0) return out;
  const double limit_seconds = std::chrono::duration<double>(limit).count();
  for (const Backend& b : obs.activity().backends) {
    if (!b.is_client() || b.datname != database) continue;
    if (seconds_since(b.xact_start, obs.now()) > limit_seconds) {
      out.push_back(audited(b, obs.now()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.xact_age_seconds > b.xact_age_seconds; });
  return out;
}

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string locks_text(const std::vector<TableLock>& locks) {
  TextTable table;
  table.add_row({"PID", "TABLE", "MODE", "USER", "APPLICATION", "STATE", "XACT", "QUERY"});
  for (const TableLock& l : locks) {
    if (!l.session) {
      const char* who = l.lock.pid == 0 ? "prepared transaction" : "ended";
      table.add_row({std::to_string(l.lock.pid), l.lock.relation, l.lock.mode, "-", "-", who});
      continue;
    }
    const AuditedSession& s = *l.session;
    table.add_row({std::to_string(s.pid), l.lock.relation, l.lock.mode, or_dash(s.usename),
                   or_dash(s.application_name),
                   or_dash(s.state) + " " + whole_seconds(s.state_age_seconds),
                   whole_seconds(s.xact_age_seconds), shorten(s.query, k_query_chars)});
  }
  return table.render();
}

std::string section(const std::string& title, std::size_t count, const std::string& body) {
  return title + " (" + std::to_string(count) + "):" + (count == 0 ? " none\n" : "\n" + body);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

void write_locks(JsonWriter& json, const char* key, const std::vector<TableLock>& locks) {
  json.key(key).begin_array();
  for (const TableLock& l : locks) {
    json.begin_object().key("pid").value(l.lock.pid);
    json.key("table").value(l.lock.relation).key("mode").value(l.lock.mode);
    json.key("session");
    if (l.session) {
      write_session_json(json, *l.session);
    } else {
      json.null();
    }
    json.end_object();
  }
  json.end_array();
}

}  // namespace

PreflightReport assess_preflight(const PreflightRequest& request, const Observation& observation,
                                 const std::vector<RelationLock>& locks,
                                 const std::string& database) {
  PreflightReport report;
  report.lock_mode = request.lock_mode;
  report.tables = request.tables;
  report.max_xact_age = request.max_xact_age;
  for (const RelationLock& lock : locks) {
    if (!conflicts_with(lock, request.lock_mode)) continue;
    (lock.granted ? report.holders : report.queued).push_back(table_lock(lock, observation));
  }
  report.old_transactions = old_transactions(observation, request.max_xact_age, database);
  return report;
}

std::string render_preflight_text(const PreflightReport& r) {
  std::string out = "preflight: " + sql_name(r.lock_mode) + " on " + joined(r.tables) + ": ";
  const std::string age = format_duration(r.max_xact_age);
  if (r.clear()) {
    return out + "clear (no conflicting lock, nothing queued" +
           (r.max_xact_age.count() > 0 ? ", no transaction older than " + age : "") + ")\n";
  }
  out += "NOT CLEAR\n";
  out += section("holding a conflicting lock", r.holders.size(), locks_text(r.holders));
  out += section("queued for a conflicting lock", r.queued.size(), locks_text(r.queued));
  if (r.max_xact_age.count() > 0) {
    out += section("transactions older than " + age, r.old_transactions.size(),
                   render_sessions_text(r.old_transactions));
  }
  return out;
}

std::string render_preflight_json(const PreflightReport& r) {
  JsonWriter json;
  json.begin_object().key("clear").value(r.clear());
  json.key("lock_mode").value(sql_name(r.lock_mode));
  json.key("tables").begin_array();
  for (const std::string& table : r.tables) json.value(table);
  json.end_array();
  json.key("max_xact_age_seconds").value(std::chrono::duration<double>(r.max_xact_age).count());
  write_locks(json, "holders", r.holders);
  write_locks(json, "queued", r.queued);
  json.key("old_transactions");
  write_sessions_json(json, r.old_transactions);
  json.end_object();
  return json.str();
}

}  // namespace lockwatch
