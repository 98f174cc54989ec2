// preflight --json: the --table report, or one object per statement for --sql and --file.
#include "core/json_writer.hpp"
#include "core/preflight_report.hpp"

namespace lockwatch {
namespace {

void strings(JsonWriter& json, const char* key, const std::vector<std::string>& values) {
  json.key(key).begin_array();
  for (const std::string& v : values) json.value(v);
  json.end_array();
}

void write_sessions(JsonWriter& json, const char* key,
                    const std::vector<ConflictingSession>& sessions) {
  json.key(key).begin_array();
  for (const ConflictingSession& c : sessions) {
    json.begin_object().key("pid").value(c.pid);
    json.key("relation").value(c.locks.front().relation).key("mode").value(c.locks.front().mode);
    json.key("locks").begin_array();
    for (const ConflictLock& l : c.locks) {
      json.begin_object().key("relation").value(l.relation).key("via").value(l.via);
      json.key("mode").value(l.mode).key("wanted").value(sql_name(l.wanted)).end_object();
    }
    json.end_array().key("session");
    if (c.session) {
      write_session_json(json, *c.session);
    } else {
      json.null();
    }
    json.end_object();
  }
  json.end_array();
}

void write_footprint(JsonWriter& json, const Footprint& f) {
  json.key("footprint").begin_array();
  for (const FootprintLock& l : f.locks) {
    json.begin_object().key("relation").value(l.relation).key("oid").value(std::int64_t{l.oid});
    json.key("mode").value(sql_name(l.mode)).key("via").value(l.via).end_object();
  }
  json.end_array();
  strings(json, "missing", f.missing);
}

const char* denotes_name(Denotes d) {
  switch (d) {
    case Denotes::relation:
      return "relation";
    case Denotes::index_table:
      return "index_table";
    case Denotes::referencing_tables:
      return "referencing_tables";
  }
  return "relation";
}

void write_locks(JsonWriter& json, const ClassifiedStatement& s) {
  json.key("locks").begin_array();
  for (const StatementLock& t : s.locks) {
    json.begin_object().key("relation").value(t.relation.sql());
    json.key("denotes").value(denotes_name(t.denotes)).key("mode").value(sql_name(t.mode));
    json.key("role")
        .value(t.role)
        .key("constraint")
        .value(t.constraint)
        .key("reaches")
        .begin_object();
    for (const auto& [reach, mode] : t.reaches) json.key(reach_name(reach)).value(sql_name(mode));
    json.end_object().end_object();
  }
  json.end_array().key("advisory").begin_array();
  for (const AdvisoryTarget& a : s.advisory) {
    json.begin_object().key("key").value(advisory_key_text(a)).key("mode").value(sql_name(a.mode));
    json.end_object();
  }
  json.end_array();
}

void write_advice(JsonWriter& json, const StatementCheck& c) {
  json.key("advice").begin_array();
  for (const Advice& a : c.advice)
    json.begin_object().key("kind").value(a.kind).key("text").value(a.text).end_object();
  json.end_array().key("safer");
  if (!c.statement.safer) {
    json.null();
    return;
  }
  json.begin_object().key("summary").value(c.statement.safer->summary).key("steps").begin_array();
  for (const SaferStep& step : c.statement.safer->steps) {
    json.begin_object().key("sql").value(step.sql).key("lock").value(step.lock).end_object();
  }
  json.end_array().end_object();
}

const char* outcome_name(StatementTrace::Outcome o) {
  switch (o) {
    case StatementTrace::Outcome::traced:
      return "traced";
    case StatementTrace::Outcome::not_run:
      return "not_run";
    case StatementTrace::Outcome::failed:
      return "failed";
  }
  return "";
}

void write_trace(JsonWriter& json, const StatementCheck& c) {
  json.key("trace");
  if (!c.trace) {
    json.null();
    return;
  }
  json.begin_object().key("outcome").value(outcome_name(c.trace->outcome));
  json.key("reason").value(c.trace->reason).key("locks").begin_array();
  for (const TracedLock& l : c.trace->locks) {
    json.begin_object()
        .key("relation")
        .value(l.advisory ? "advisory lock " + advisory_key_text(l.key) : l.relation);
    json.key("oid").value(std::int64_t{l.oid}).key("mode").value(l.mode);
    json.key("existed").value(l.existed).end_object();
  }
  json.end_array().key("verdict").value(verdict_name(c.comparison.verdict));
  strings(json, "missed", c.comparison.missed);
  strings(json, "beyond", c.comparison.beyond);
  json.end_object();
}

void write_statement(JsonWriter& json, const StatementCheck& c) {
  const ClassifiedStatement& s = c.statement;
  json.begin_object().key("number").value(s.number).key("sql").value(s.sql).key("kind").value(
      s.kind);
  json.key("clear").value(c.clear()).key("classified").value(s.classified);
  json.key("unclassified").value(s.unclassified).key("rewrites").value(s.rewrites);
  json.key("scans").value(s.scans).key("own_transaction").value(s.needs_own_transaction);
  write_locks(json, s);
  write_footprint(json, c.footprint);
  strings(json, "created_earlier", c.created_earlier);
  write_advice(json, c);
  write_sessions(json, "holders", c.holders);
  write_sessions(json, "queued", c.queued);
  write_trace(json, c);
  json.end_object();
}

}  // namespace

std::string render_preflight_json(const PreflightReport& r) {
  JsonWriter json;
  json.begin_object().key("clear").value(r.clear());
  json.key("max_xact_age_seconds").value(std::chrono::duration<double>(r.max_xact_age).count());
  if (r.from_sql) {
    json.key("trace_database");
    if (r.trace_database.empty()) {
      json.null();
    } else {
      json.value(r.trace_database);
    }
    json.key("statements").begin_array();
    for (const StatementCheck& c : r.statements) write_statement(json, c);
    json.end_array();
  } else {
    json.key("lock_mode").value(sql_name(r.lock_mode));
    strings(json, "tables", r.tables);
    write_footprint(json, r.statements.front().footprint);
    write_sessions(json, "holders", r.statements.front().holders);
    write_sessions(json, "queued", r.statements.front().queued);
  }
  json.key("old_transactions");
  write_sessions_json(json, r.old_transactions);
  json.end_object();
  return json.str();
}

}  // namespace lockwatch
