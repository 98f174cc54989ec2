// The text of preflight: one report for --table (the tables at one mode), and one section
// per statement for --sql and --file.
#include <algorithm>
#include <map>

#include "core/preflight_report.hpp"
#include "core/text_format.hpp"

namespace lockwatch {
namespace {

constexpr std::size_t k_query_chars = 60;
constexpr std::size_t k_sql_chars = 200;

std::string or_dash(const std::string& text) {
  return text.empty() ? "-" : text;
}

std::string relation_cell(const ConflictLock& l) {
  return l.via.empty() ? l.relation : l.relation + " (" + l.via + ")";
}

// One row per session, its first conflicting lock beside it; its other locks below.
std::string sessions_text(const std::vector<ConflictingSession>& sessions,
                          const std::string& indent) {
  TextTable table(indent);
  table.add_row({"PID", "RELATION", "MODE", "USER", "APPLICATION", "STATE", "XACT", "QUERY"});
  for (const ConflictingSession& c : sessions) {
    const ConflictLock& first = c.locks.front();
    if (!c.session) {
      const char* who = c.pid == 0 ? "prepared transaction" : "ended";
      table.add_row({std::to_string(c.pid), relation_cell(first), first.mode, "-", "-", who});
    } else {
      const AuditedSession& s = *c.session;
      table.add_row({std::to_string(c.pid), relation_cell(first), first.mode, or_dash(s.usename),
                     or_dash(s.application_name),
                     or_dash(s.state) + " " + whole_seconds(s.state_age_seconds),
                     whole_seconds(s.xact_age_seconds), shorten(s.query, k_query_chars)});
    }
    for (std::size_t i = 1; i < c.locks.size(); ++i) {
      table.add_row({"", relation_cell(c.locks[i]), c.locks[i].mode});
    }
  }
  return table.render();
}

std::string section(const std::string& indent, const std::string& title, std::size_t count,
                    const std::string& body) {
  return indent + title + " (" + std::to_string(count) +
         "):" + (count == 0 ? " none\n" : "\n" + body);
}

std::string joined(const std::vector<std::string>& names, const char* separator = ", ") {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : separator) + name;
  return out;
}

std::string conflicts_text(const StatementCheck& c, const std::string& indent) {
  return section(indent, "holding a conflicting lock", c.holders.size(),
                 sessions_text(c.holders, indent + "  ")) +
         section(indent, "queued for a conflicting lock", c.queued.size(),
                 sessions_text(c.queued, indent + "  "));
}

std::string old_text(const PreflightReport& r) {
  if (r.max_xact_age.count() <= 0) return "";
  return section("", "transactions older than " + format_duration(r.max_xact_age),
                 r.old_transactions.size(), render_sessions_text(r.old_transactions));
}

std::string table_report(const PreflightReport& r) {
  const StatementCheck& c = r.statements.front();
  std::string out = "preflight: " + sql_name(r.lock_mode) + " on " + joined(r.tables) + ": ";
  const std::string age = format_duration(r.max_xact_age);
  if (r.clear()) {
    return out + "clear (no conflicting lock, nothing queued" +
           (r.max_xact_age.count() > 0 ? ", no transaction older than " + age : "") + ")\n" +
           "checked " + footprint_summary(c.footprint) + "\n";
  }
  out += "NOT CLEAR\nchecked " + footprint_summary(c.footprint) + "\n";
  return out + conflicts_text(c, "") + old_text(r);
}

std::string advice_text(const Advice& a) {
  if (a.kind == "lock_timeout") return "  ! " + a.text + "\n";
  if (a.kind == "safer") return "  safer: " + a.text + "\n";
  if (a.kind == "unclassified") return "  ! unclassified: " + a.text + "\n";
  if (a.kind == "note" || a.kind == "new_relation") return "  note: " + a.text + "\n";
  return "  ! " + a.text + "\n";
}

std::string locks_text(const ClassifiedStatement& s) {
  std::string out;
  for (const StatementLock& t : s.locks) out += "  takes " + describe_statement_lock(t) + "\n";
  for (const AdvisoryTarget& a : s.advisory) {
    out += "  takes advisory lock " + advisory_key_text(a) + " " + sql_name(a.mode) + "\n";
  }
  if (out.empty() && s.classified) out = "  takes no lock on any relation\n";
  return out;
}

std::string safer_steps(const ClassifiedStatement& s, const std::vector<Advice>& advice) {
  const bool advised =
      std::any_of(advice.begin(), advice.end(), [](const Advice& a) { return a.kind == "safer"; });
  if (!advised || !s.safer) return "";
  std::string out;
  int n = 0;
  for (const SaferStep& step : s.safer->steps) {
    out += "    " + std::to_string(++n) + ". " + step.sql + "\n       -- " + step.lock + "\n";
  }
  return out;
}

std::string trace_text(const StatementCheck& c) {
  if (!c.trace) return "";
  const StatementTrace& t = *c.trace;
  if (t.outcome == StatementTrace::Outcome::not_run) return "  trace: not run: " + t.reason + "\n";
  if (t.outcome == StatementTrace::Outcome::failed) return "  trace: failed: " + t.reason + "\n";
  std::vector<std::string> seen;
  for (const TracedLock& l : t.locks) {
    if (l.existed) {
      seen.push_back((l.advisory ? "advisory lock " + advisory_key_text(l.key) : l.relation) + " " +
                     l.mode);
    }
  }
  std::string out = "  trace: saw " + (seen.empty() ? std::string("no lock") : joined(seen)) + "\n";
  switch (c.comparison.verdict) {
    case TraceVerdict::equal:
      return out + "  trace: the prediction is exactly what was seen\n";
    case TraceVerdict::covers:
      return out + "  trace: the prediction covers it (and predicts more: " +
             joined(c.comparison.beyond) + ")\n";
    case TraceVerdict::differs:
      return out + "  trace: PREDICTION MISSED " + joined(c.comparison.missed) +
             " (checked for conflicts all the same)\n";
    case TraceVerdict::not_traced:
      break;
  }
  return out;
}

std::string verdict_text(const StatementCheck& c) {
  if (!c.statement.classified) return "  NOT CLEAR: its locks cannot be predicted\n";
  std::string out;
  if (!c.footprint.locks.empty()) out += "  checked " + footprint_summary(c.footprint) + "\n";
  for (const std::string& name : c.created_earlier) out += "  not yet there: " + name + "\n";
  for (const std::string& name : c.footprint.missing) {
    if (std::find(c.created_earlier.begin(), c.created_earlier.end(), name) ==
        c.created_earlier.end()) {
      out += "  not found: " + name + "\n";
    }
  }
  if (c.holders.empty() && c.queued.empty()) {
    return out + (c.clear() ? "  clear\n" : "  NOT CLEAR: the prediction missed a lock\n");
  }
  return out + "  NOT CLEAR\n" + conflicts_text(c, "  ");
}

std::string statement_report(const StatementCheck& c) {
  const ClassifiedStatement& s = c.statement;
  std::string out = "statement " + std::to_string(s.number) + " (" + s.kind +
                    "): " + shorten(s.sql, k_sql_chars) + "\n" + locks_text(s);
  for (const Advice& a : c.advice) {
    out += advice_text(a);
    if (a.kind == "safer") out += safer_steps(s, c.advice);
  }
  return out + trace_text(c) + verdict_text(c);
}

}  // namespace

std::string footprint_summary(const Footprint& f) {
  std::vector<std::string> named;
  std::map<std::string, int> related;
  const std::pair<const char*, const char*> kinds[] = {
      {"partition of", "partition"},
      {"child of", "inheritance child"},
      {"index of", "index"},
      {"TOAST index of", "index"},
      {"TOAST table of", "TOAST table"},
      {"referenced by", "referenced table"},
      {"references", "referencing table"},
      {"view on", "view"},
      {"read by view", "relation a view reads"},
      {"sequence of", "sequence"},
      {"default partition of", "partition"},
      {"table of index", "table"},
      {"referenced table", "referenced table"},
      {"partition attached", "partition"},
      {"partition detached", "partition"},
      {"parent", "parent"},
      {"index", "index"},
      {"sequence", "sequence"},
      {"view", "view"},
      {"seen by --trace", "relation seen by --trace"},
  };
  std::vector<long long> seen;
  for (const FootprintLock& l : f.locks) {
    if (std::find(seen.begin(), seen.end(), l.oid) != seen.end()) continue;
    seen.push_back(l.oid);
    if (l.via.empty()) {
      named.push_back(l.relation);
      continue;
    }
    std::string kind = "related relation";
    for (const auto& [prefix, name] : kinds) {
      if (l.via.starts_with(prefix)) kind = name;
    }
    ++related[kind];
  }
  std::string out = named.empty() ? "its relations" : joined(named);
  if (related.empty()) return out;
  int total = 0;
  std::string parts;
  for (const auto& [kind, n] : related) {
    total += n;
    std::string plural =
        kind == "index" ? "indexes" : (kind.ends_with("child") ? kind + "ren" : kind + "s");
    parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + (n == 1 ? kind : plural);
  }
  return out + " and " + std::to_string(total) + " related relation" + (total == 1 ? "" : "s") +
         " (" + parts + ")";
}

std::string render_preflight_text(const PreflightReport& r) {
  if (!r.from_sql) return table_report(r);
  const std::size_t n = r.statements.size();
  std::string out = "preflight: " + std::to_string(n) + " statement" + (n == 1 ? "" : "s") +
                    (r.trace_database.empty() ? "" : ", traced in " + r.trace_database) + ": " +
                    (r.clear() ? "clear" : "NOT CLEAR") + "\n";
  for (const StatementCheck& c : r.statements) out += statement_report(c);
  return out + old_text(r);
}

}  // namespace lockwatch
