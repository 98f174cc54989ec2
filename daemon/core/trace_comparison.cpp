#include "core/trace_comparison.hpp"

#include <map>
#include <tuple>

namespace lockwatch {
namespace {

using Key = std::tuple<bool, Oid, std::uint32_t, std::uint32_t, int>;  // what is locked

// The modes a lock in `mode` conflicts with, as bits (PostgreSQL's table).
unsigned conflict_bits(LockMode mode) {
  unsigned bits = 0;
  for (int other = 0; other < 8; ++other) {
    if (conflicts(mode, static_cast<LockMode>(other))) bits |= 1U << other;
  }
  return bits;
}

Key key_of(const TracedLock& l) {
  return l.advisory ? Key{true, 0, l.key.classid, l.key.objid, l.key.objsubid}
                    : Key{false, l.oid, 0, 0, 0};
}

Key key_of(const AdvisoryTarget& a) {
  return Key{true, 0, a.classid, a.objid, a.objsubid};
}

struct Side {
  unsigned bits = 0;
  std::string name;
  std::vector<std::string> modes;
};

std::string listed(const Side& side) {
  std::string out = side.name + " ";
  for (std::size_t i = 0; i < side.modes.size(); ++i) out += (i ? "+" : "") + side.modes[i];
  return out;
}

}  // namespace

std::string verdict_name(TraceVerdict verdict) {
  switch (verdict) {
    case TraceVerdict::equal:
      return "equal";
    case TraceVerdict::covers:
      return "covers";
    case TraceVerdict::differs:
      return "differs";
    case TraceVerdict::not_traced:
      return "not traced";
  }
  return "";
}

TraceComparison compare_trace(const Footprint& predicted,
                              const std::vector<AdvisoryTarget>& predicted_advisory,
                              const StatementTrace& observed) {
  TraceComparison out;
  if (observed.outcome != StatementTrace::Outcome::traced) return out;
  std::map<Key, Side> want;
  std::map<Key, Side> seen;
  for (const FootprintLock& l : predicted.locks) {
    Side& s = want[Key{false, l.oid, 0, 0, 0}];
    s.bits |= conflict_bits(l.mode);
    s.name = l.relation;
    s.modes.push_back(sql_name(l.mode));
  }
  for (const AdvisoryTarget& a : predicted_advisory) {
    Side& s = want[key_of(a)];
    s.bits |= conflict_bits(a.mode);
    s.name = "advisory lock " + advisory_key_text(a);
    s.modes.push_back(sql_name(a.mode));
  }
  for (const TracedLock& l : observed.locks) {
    const auto mode = parse_lock_mode(l.mode);
    if (!l.existed || !mode) continue;
    Side& s = seen[key_of(l)];
    s.bits |= conflict_bits(*mode);
    s.name = l.advisory ? "advisory lock " + advisory_key_text(l.key) : l.relation;
    s.modes.push_back(l.mode);
  }
  for (const auto& [key, side] : seen) {
    const auto it = want.find(key);
    const unsigned have = it == want.end() ? 0 : it->second.bits;
    if ((have & side.bits) != side.bits) out.missed.push_back(listed(side));
  }
  for (const auto& [key, side] : want) {
    const auto it = seen.find(key);
    const unsigned got = it == seen.end() ? 0 : it->second.bits;
    if ((got & side.bits) != side.bits) out.beyond.push_back(listed(side));
  }
  out.verdict = !out.missed.empty()
                    ? TraceVerdict::differs
                    : (out.beyond.empty() ? TraceVerdict::equal : TraceVerdict::covers);
  return out;
}

}  // namespace lockwatch
