#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chain_log.hpp"
#include "core/chain_report.hpp"
#include "core/json_writer.hpp"
#include "core/session_description.hpp"
#include "snapshot_builder.hpp"

namespace lockwatch {
namespace {

using Lines = std::vector<std::string>;

// A strict recursive-descent check that `text` is one JSON value (RFC 8259).
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view text) : m_text(text) {}

  bool valid() {
    skip_space();
    if (!value()) return false;
    skip_space();
    return m_at == m_text.size();
  }

 private:
  bool value() {
    if (m_at >= m_text.size()) return false;
    switch (m_text[m_at]) {
      case '{':
        return composite('}', true);
      case '[':
        return composite(']', false);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool composite(char close, bool keyed) {
    ++m_at;
    skip_space();
    if (eat(close)) return true;
    do {
      skip_space();
      if (keyed) {
        if (!string()) return false;
        skip_space();
        if (!eat(':')) return false;
        skip_space();
      }
      if (!value()) return false;
      skip_space();
    } while (eat(','));
    return eat(close);
  }

  bool string() {
    if (!eat('"')) return false;
    while (m_at < m_text.size()) {
      const auto c = static_cast<unsigned char>(m_text[m_at++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (m_at >= m_text.size()) return false;
      const char e = m_text[m_at++];
      if (e == 'u') {
        for (int i = 0; i < 4; ++i, ++m_at) {
          if (m_at >= m_text.size() || !is_hex(m_text[m_at])) return false;
        }
      } else if (std::string_view("\"\\/bfnrt").find(e) == npos) {
        return false;
      }
    }
    return false;
  }

  bool number() {
    eat('-');
    const std::size_t start = m_at;
    if (!digits()) return false;
    if (m_text[start] == '0' && m_at - start > 1) return false;
    if (eat('.') && !digits()) return false;
    return true;
  }

  bool digits() {
    const std::size_t start = m_at;
    while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9') ++m_at;
    return m_at > start;
  }

  bool literal(std::string_view word) {
    if (m_text.substr(m_at, word.size()) != word) return false;
    m_at += word.size();
    return true;
  }

  bool eat(char c) {
    if (m_at < m_text.size() && m_text[m_at] == c) {
      ++m_at;
      return true;
    }
    return false;
  }

  void skip_space() {
    while (m_at < m_text.size() && std::string_view(" \t\r\n").find(m_text[m_at]) != npos) {
      ++m_at;
    }
  }

  static bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  static constexpr std::size_t npos = std::string_view::npos;

  std::string_view m_text;
  std::size_t m_at = 0;
};

bool is_valid_json(std::string_view text) {
  return JsonChecker(text).valid();
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Checks that `parts` occur in `text` in this order.
void check_in_order(const std::string& text, const std::vector<std::string_view>& parts) {
  std::size_t at = 0;
  for (std::string_view part : parts) {
    CAPTURE(part);
    const std::size_t found = text.find(part, at);
    REQUIRE(found != std::string::npos);
    at = found + part.size();
  }
}

const RootBlocker& only_root(const Observation& observation) {
  REQUIRE(observation.locks().roots.size() == 1);
  return observation.locks().roots.front();
}

// The seed incident, `seconds` later: the same chain, every age grown.
PollSnapshots seed_incident_later(int seconds) {
  PollSnapshots snapshot = seed_incident();
  snapshot.activity.taken_at += seconds * k_micros_per_second;
  return snapshot;
}

// The seed incident with `extra` more ALTERs queued at the back, `seconds` later.
PollSnapshots seed_with_queue(int extra, int seconds) {
  SnapshotBuilder b;
  b.at(k_now + seconds * k_micros_per_second)
      .idle_in_tx(65365, "api", 312 + seconds)
      .holds(accounts(), LockMode::access_share)
      .active(79250, "migrate", 45 + seconds)
      .query("ALTER TABLE accounts ADD COLUMN note text")
      .wants(accounts(), LockMode::access_exclusive, 45 + seconds);
  for (int i = 0; i < extra; ++i) {
    b.active(80000 + i, "migrate", 30).wants(accounts(), LockMode::access_exclusive, 30 - i % 30);
  }
  return b.build();
}

const std::string k_seed_chain =
    "65365 (api, idle in transaction 312s: SELECT * FROM accounts WHERE id = ? FOR UPDATE) -> "
    "79250 (migrate, waiting 45s for AccessExclusiveLock on relation public.accounts: ALTER "
    "TABLE accounts ADD COLUMN note text) -> 77970 -> 79337";

TEST_SUITE("chains JSON") {
  TEST_CASE("the seed incident renders as valid JSON with counts first, then the root") {
    const Observation obs(seed_incident());
    const std::string json = render_chains_json(obs);
    CAPTURE(json);

    CHECK(is_valid_json(json));
    CHECK(json.starts_with(R"({"waiting":3,"blocked":3,"root_blockers":1,"max_chain_length":4,)"
                           R"("longest_wait_seconds":45.000,"ghost_lock_holders":0,)"
                           R"("lock_snapshot":true,)"
                           R"("lock_snapshot_stale":false,"lock_snapshot_age_seconds":0.000,)"
                           R"("roots":[{"pid":65365,"state":"idle in transaction",)"));
    CHECK(json.ends_with(R"("roots_omitted":0,"unexplained_waiters":[]})"));
    check_in_order(
        json, {R"("pid":65365)", R"("application_name":"api")", R"("state_age_seconds":312.000)",
               R"("query":"SELECT * FROM accounts WHERE id = ? FOR UPDATE")",
               R"("blocked_total":3)", R"("max_chain_length":4)",
               R"("longest_wait_seconds":45.000)", R"("longest_chain":[65365,79250,77970,79337])",
               R"("longest_chain_omitted":0)", R"("deadlock_cycle":[])", R"("policy":null)",
               R"("holds":[{"lock":{"type":"relation","description":"relation public.accounts",)"
               R"("relation":"public.accounts"},"mode":"AccessShareLock"}])",
               R"("waiting_for":[)", R"("waiters":[)", R"("waiters_omitted":0)"});
  }

  TEST_CASE("each waiter says what it wants, for how long, and who holds it up, and how") {
    const Observation obs(seed_incident());
    const std::string json = render_chains_json(obs);
    CAPTURE(json);

    check_in_order(
        json,
        {R"("waiters":[{"pid":79250,"state":"active")", R"("application_name":"migrate")",
         R"("query":"ALTER TABLE accounts ADD COLUMN note text","wait_seconds":45.000,)"
         R"("wait_event":"relation","wants":[{"lock":{"type":"relation",)",
         R"("mode":"AccessExclusiveLock"}],"blocked_by":[65365],"blockers":[{"pid":65365,)"
         R"("how":"holds","mode":"AccessShareLock","reason":"held as AccessShareLock by 65365"}])",
         // The ALTER ahead implies 65365 for the second ALTER: it queues behind the first.
         R"({"pid":77970,)", R"("wait_seconds":30.000,)",
         R"("blocked_by":[79250],"blockers":[{"pid":79250,"how":"queued_ahead",)"
         R"("mode":"AccessExclusiveLock","reason":"queued behind 79250's AccessExclusiveLock"}])",
         R"({"pid":79337,)", R"("wait_seconds":12.000,)", R"("blocked_by":[77970])"});
  }

  TEST_CASE("the waiters of a root are counted by what they wait for") {
    const Observation obs(seed_incident());
    const std::string json = render_chains_json(obs);
    CHECK(contains(json, R"("waiting_for":[{"lock":{"type":"relation","description":)"
                         R"("relation public.accounts","relation":"public.accounts"},)"
                         R"("mode":"AccessExclusiveLock","sessions":2,)"
                         R"("longest_wait_seconds":45.000},{"lock":)"));
    CHECK(
        contains(json, R"("mode":"AccessShareLock","sessions":1,"longest_wait_seconds":12.000})"));
  }

  TEST_CASE(
      "a pile-up of thousands is a bounded document: top waiters in detail, the rest counted") {
    SnapshotBuilder b;
    b.idle_in_tx(1, "api", 600).holds(xact_target(900), LockMode::exclusive);
    b.active(2, "api", 60)
        .holds(tuple_target(k_accounts_oid, 0, 1), LockMode::exclusive)
        .wants(xact_target(900), LockMode::share, 60);
    for (int pid = 3; pid <= 3002; ++pid) {
      b.active(pid, "api", 50)
          .wants_at(tuple_target(k_accounts_oid, 0, 1), LockMode::exclusive,
                    k_now - 50 * k_micros_per_second + pid);
    }
    const Observation obs(b.build());
    ReportLimits limits;
    limits.waiters = 20;
    const std::string json = render_chains_json(obs, {}, limits);
    CAPTURE(json.size());

    CHECK(is_valid_json(json));
    CHECK(json.size() < 64 * 1024);
    CHECK(contains(json, R"("blocked_total":3001)"));
    CHECK(contains(json, R"("longest_chain_omitted":2992)"));
    CHECK(contains(json, R"("waiters_omitted":2981)"));
    CHECK(contains(json, R"("description":"tuple (0,1) of public.accounts",)"
                         R"("relation":"public.accounts","page":0,"tuple":1},)"
                         R"("mode":"ExclusiveLock","sessions":3000,)"));
  }

  TEST_CASE("roots are rendered in rank order, the one holding up most first") {
    const Observation obs(SnapshotBuilder()
                              .idle_in_tx(10, "small", 60)
                              .waiting(11, "api", {10}, 1)
                              .idle_in_tx(20, "big", 60)
                              .waiting(21, "api", {20}, 1)
                              .waiting(22, "api", {20}, 1)
                              .build());
    const std::string json = render_chains_json(obs);
    CAPTURE(json);

    CHECK(is_valid_json(json));
    CHECK(contains(json, R"("root_blockers":2)"));
    check_in_order(json, {R"({"pid":20,"state")", R"("blocked_total":2)", R"({"pid":10,"state")",
                          R"("blocked_total":1)"});
  }

  TEST_CASE("a policy verdict is rendered next to its root") {
    const Observation obs(seed_incident());
    const std::vector<RootVerdict> verdicts = {
        {4242, "other", "cancel", "protected"},
        {65365, "kill-idle-tx", "terminate", "dry_run"},
    };
    const std::string json = render_chains_json(obs, verdicts);
    CAPTURE(json);

    CHECK(is_valid_json(json));
    CHECK(contains(json, R"("deadlock_cycle":[],"policy":{"name":"kill-idle-tx",)"
                         R"("action":"terminate","outcome":"dry_run"},"holds":[)"));
    CHECK_FALSE(contains(json, "\"other\""));
    CHECK_FALSE(contains(json, "null"));
  }

  TEST_CASE("a verdict for another pid leaves the root's policy null") {
    const Observation obs(seed_incident());
    const std::vector<RootVerdict> verdicts = {{79250, "p", "log", "logged"}};
    const std::string json = render_chains_json(obs, verdicts);
    CHECK(contains(json, R"("policy":null)"));
    CHECK_FALSE(contains(json, R"("name":"p")"));
  }

  TEST_CASE("a lock snapshot carried over a stall says how old it is") {
    PollSnapshots s = seed_incident();
    s.locks.stale = true;
    s.locks.taken_at = k_now - 12 * k_micros_per_second;
    const Observation obs(std::move(s));
    const std::string json = render_chains_json(obs);
    CHECK(contains(json, R"("lock_snapshot_stale":true,"lock_snapshot_age_seconds":12.000,)"));
  }

  TEST_CASE("a quiet database renders counts of zero and no roots") {
    const Observation obs(SnapshotBuilder().active(1, "api").build());
    CHECK(render_chains_json(obs) ==
          R"({"waiting":0,"blocked":0,"root_blockers":0,"max_chain_length":0,)"
          R"("longest_wait_seconds":0.000,"ghost_lock_holders":0,"lock_snapshot":false,)"
          R"("lock_snapshot_stale":false,)"
          R"("lock_snapshot_age_seconds":0.000,"roots":[],"roots_omitted":0,)"
          R"("unexplained_waiters":[]})");
  }

  TEST_CASE("a root that is not a backend is rendered with its state only") {
    SUBCASE("a prepared transaction") {
      const Observation obs(SnapshotBuilder().waiting(300, "api", {0}, 90).build());
      const std::string json = render_chains_json(obs);
      CAPTURE(json);
      CHECK(is_valid_json(json));
      CHECK(contains(json,
                     R"({"pid":0,"state":"prepared transaction","prepared":{)"
                     R"("gid":"prepared-0","transaction":1000,"owner":"app","database":"shop",)"
                     R"("age_seconds":600.000},"blocked_total":1,)"));
      CHECK(contains(json, R"("blockers":[{"pid":0,"prepared_gid":"prepared-0","how":"holds",)"));
    }
    SUBCASE("a blocker that went away") {
      const Observation obs(SnapshotBuilder().waiting(300, "api", {4242}, 90).build());
      const std::string json = render_chains_json(obs);
      CAPTURE(json);
      CHECK(is_valid_json(json));
      CHECK(contains(json, R"j({"pid":4242,"state":"unknown (gone)","blocked_total":1,)j"));
    }
  }

  TEST_CASE("a deadlock cycle lists its members") {
    const Observation obs(
        SnapshotBuilder().waiting(10, "api", {11}, 2).waiting(11, "api", {10}, 2).build());
    const std::string json = render_chains_json(obs);
    CAPTURE(json);
    CHECK(is_valid_json(json));
    CHECK(contains(
        json, R"("longest_chain":[10,11],"longest_chain_omitted":0,"deadlock_cycle":[10,11])"));
  }

  TEST_CASE("hostile text in a backend still renders valid JSON") {
    const Observation obs(SnapshotBuilder()
                              .idle_in_tx(1, "evil\"},{\"pid\":666\xff\n", 60)
                              .query("SELECT '\\\x01\x7f'")
                              .waiting(2, "\xC3", {1}, 3)
                              .build());
    const std::string json = render_chains_json(obs);
    CAPTURE(json);
    CHECK(is_valid_json(json));
    CHECK_FALSE(contains(json, R"({"pid":666)"));
  }
}

TEST_SUITE("json_quote") {
  TEST_CASE("json_quote escapes what JSON requires and keeps valid UTF-8") {
    struct Case {
      const char* what;
      std::string_view input;
      std::string_view expected;
    };
    using namespace std::string_view_literals;
    const Case cases[] = {
        {"plain text", "SELECT 1", R"("SELECT 1")"},
        {"empty", "", R"("")"},
        {"double quotes", R"(say "hi")", R"("say \"hi\"")"},
        {"backslash", R"(C:\dir\)", R"("C:\\dir\\")"},
        {"newline, return, tab", "a\nb\rc\td", R"("a\nb\rc\td")"},
        {"other control characters", "\x01\x1f\b\f", R"("\u0001\u001f\u0008\u000c")"},
        {"embedded NUL", "a\0b"sv, R"("a\u0000b")"},
        {"DEL is not a control character in JSON", "\x7f", "\"\x7f\""},
        {"slash is left alone", "a/b", R"("a/b")"},
        {"two-byte UTF-8", "caf\xC3\xA9", "\"caf\xC3\xA9\""},
        {"three-byte UTF-8", "\xE2\x82\xAC 5", "\"\xE2\x82\xAC 5\""},
        {"four-byte UTF-8", "\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},
        {"last code point before the surrogates", "\xED\x9F\xBF", "\"\xED\x9F\xBF\""},
        {"highest code point", "\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\""},
        {"stray byte",
         "a\xFF"
         "b",
         "\"a\xEF\xBF\xBD"
         "b\""},
        {"lone continuation byte", "\x80", "\"\xEF\xBF\xBD\""},
        {"truncated sequence at the end", "ab\xC3", "\"ab\xEF\xBF\xBD\""},
        {"truncated sequence before ASCII",
         "\xE2\x82"
         "x",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD"
         "x\""},
        {"overlong two-byte", "\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"overlong three-byte", "\xE0\x80\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"surrogate", "\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"past U+10FFFF", "\xF4\x90\x80\x80",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"overlong four-byte", "\xF0\x8F\xBF\xBF",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        {"sequence cut off by the end of the view", std::string_view("ab\xC3\xA9", 3),
         "\"ab\xEF\xBF\xBD\""},
        {"lead byte past F4", "\xF5\x80\x80\x80",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      const std::string quoted = json_quote(c.input);
      CHECK(quoted == c.expected);
      CHECK(is_valid_json(quoted));
    }
  }

  TEST_CASE("JsonWriter separates members with commas and quotes keys") {
    JsonWriter json;
    json.begin_object();
    json.key("a").value(1);
    json.key("b\"").begin_array().value("x").value(true).null().value(1.5).end_array();
    json.key("c").begin_object().end_object();
    json.end_object();
    CHECK(json.str() == R"({"a":1,"b\"":["x",true,null,1.500],"c":{}})");
    CHECK(is_valid_json(json.str()));
  }

  TEST_CASE("a non-finite number is written as null") {
    JsonWriter json;
    json.begin_array()
        .value(std::numeric_limits<double>::infinity())
        .value(std::numeric_limits<double>::quiet_NaN())
        .value(0.25)
        .end_array();
    CHECK(json.str() == "[null,null,0.250]");
  }
}

TEST_SUITE("chain descriptions") {
  TEST_CASE("describe_chain details the root and first waiter, then lists pids") {
    const Observation obs(seed_incident());
    CHECK(describe_chain(obs, only_root(obs)) == k_seed_chain);
  }

  TEST_CASE("describe_chain shortens long queries to 60 characters") {
    const std::string query = "SELECT " + std::string(100, 'x');
    const Observation obs(
        SnapshotBuilder().idle_in_tx(1, "api", 5).query(query).waiting(2, "", {1}, 3).build());
    CHECK(describe_chain(obs, only_root(obs)) ==
          "1 (api, idle in transaction 5s: " + query.substr(0, 60) +
              "...) -> 2 (-, waiting 3s for ExclusiveLock on advisory lock 2: UPDATE accounts "
              "SET balance = balance + ? WHERE id = ?)");
  }

  TEST_CASE("describe_chain names roots that are not backends") {
    SUBCASE("a prepared transaction, by its gid") {
      const Observation obs(SnapshotBuilder().waiting(300, "api", {0}, 90).query("").build());
      CHECK(describe_chain(obs, only_root(obs)) ==
            "prepared (prepared transaction 'prepared-0' (app, 600s)) -> 300 (api, waiting "
            "90s for ExclusiveLock on advisory lock 300)");
    }
    SUBCASE("a vanished blocker") {
      const Observation obs(SnapshotBuilder().waiting(300, "api", {4242}, 9).query("").build());
      CHECK(describe_chain(obs, only_root(obs)) ==
            "4242 (-, unknown (gone)) -> 300 (api, waiting 9s for ExclusiveLock on advisory lock "
            "300)");
    }
  }

  TEST_CASE("describe_chain marks a deadlock cycle") {
    const Observation obs(SnapshotBuilder()
                              .waiting(10, "a", {11}, 2)
                              .query("")
                              .waiting(11, "b", {10}, 1)
                              .query("")
                              .build());
    CHECK(describe_chain(obs, only_root(obs)) ==
          "10 (a, waiting 2s for ExclusiveLock on advisory lock 10) -> 11 (b, waiting 1s for "
          "ExclusiveLock on advisory lock 11) [deadlock cycle]");
  }

  TEST_CASE("describe_chain lists a long chain's first sessions and says how long it is") {
    SnapshotBuilder b;
    b.idle_in_tx(1, "api", 60).query("");
    for (int pid = 2; pid <= 40; ++pid) b.waiting(pid, "q", {pid - 1}, 5).query("");
    const Observation obs(b.build());
    CHECK(describe_chain(obs, only_root(obs))
              .ends_with(" -> 3 -> 4 -> 5 -> 6 -> ... (40 sessions in all)"));
  }

  TEST_CASE("describe_backend rounds ages down to whole seconds") {
    PollSnapshots snapshot = SnapshotBuilder().idle_in_tx(1, "api", 10).query("").build();
    snapshot.activity.taken_at += 999'999;
    const Observation obs(std::move(snapshot));
    CHECK(describe_backend(obs, 1, 60) == "api, idle in transaction 10s");
  }
}

TEST_SUITE("chain log") {
  TEST_CASE("a chain is logged when it appears, changes and clears, not on every poll") {
    ChainLog log;

    SUBCASE("the lifecycle of the seed incident") {
      const Lines appeared = log.update(Observation(seed_incident()));
      CHECK(appeared == Lines{"blocking chain: " + k_seed_chain + " (holds up 3)"});

      CHECK(log.update(Observation(seed_incident_later(5))).empty());
      CHECK(log.update(Observation(seed_incident_later(60))).empty());

      // Another ALTER queues at the back: the chain grows to 5, which is news below 10.
      const Lines changed = log.update(Observation(seed_with_queue(3, 61)));
      REQUIRE(changed.size() == 1);
      CHECK(changed.front().starts_with("blocking chain: 65365 (api, idle in transaction 373s"));
      CHECK(changed.front().ends_with("(holds up 4)"));

      const Lines cleared = log.update(Observation(SnapshotBuilder().active(1, "api").build()));
      CHECK(cleared == Lines{"blocking chain cleared: 65365 no longer holds anyone up"});

      CHECK(log.update(Observation(SnapshotBuilder().active(1, "api").build())).empty());
    }

    SUBCASE("one root clears while another stays") {
      const auto two_roots = SnapshotBuilder()
                                 .idle_in_tx(10, "a", 60)
                                 .waiting(11, "a", {10}, 1)
                                 .idle_in_tx(20, "b", 60)
                                 .waiting(21, "b", {20}, 1)
                                 .waiting(22, "b", {20}, 1)
                                 .build();
      Lines first = log.update(Observation(two_roots));
      REQUIRE(first.size() == 2);
      std::sort(first.begin(), first.end());
      CHECK(first[0].starts_with("blocking chain: 10 (a, "));
      CHECK(first[1].starts_with("blocking chain: 20 (b, "));

      const auto one_root = SnapshotBuilder()
                                .at(k_now + 10 * k_micros_per_second)
                                .idle_in_tx(20, "b", 70)
                                .waiting(21, "b", {20}, 11)
                                .waiting(22, "b", {20}, 11)
                                .build();
      CHECK(log.update(Observation(one_root)) ==
            Lines{"blocking chain cleared: 10 no longer holds anyone up"});
    }

    SUBCASE("a growing queue is news when its size changes order of magnitude, not each time") {
      CHECK(log.update(Observation(seed_with_queue(12, 0))).size() == 1);  // 13 held up
      for (int waiters = 13; waiters < 99; waiters += 7) {
        CAPTURE(waiters);
        CHECK(log.update(Observation(seed_with_queue(waiters, 1))).empty());
      }
      const Lines hundred = log.update(Observation(seed_with_queue(120, 2)));
      REQUIRE(hundred.size() == 1);
      CHECK(hundred.front().ends_with("(holds up 121)"));
      CHECK(hundred.front().find("... (122 sessions in all)") != std::string::npos);
    }
    SUBCASE("a waiter swapped for another is no news: the root and its magnitudes stay") {
      CHECK(log.update(Observation(seed_incident())).size() == 1);
      PollSnapshots swapped = seed_incident();
      swapped.activity.backends.back().pid = 79338;
      swapped.locks.queues.front().entries.back().session = 79338;
      CHECK(log.update(Observation(std::move(swapped))).empty());
    }
    SUBCASE("a new session behind a reused pid is a new root") {
      CHECK(log.update(Observation(seed_incident())).size() == 1);
      PollSnapshots reused = seed_incident();
      reused.activity.backends.front().backend_start = k_now;
      const Lines lines = log.update(Observation(std::move(reused)));
      REQUIRE(lines.size() == 2);
      CHECK(lines[0].starts_with("blocking chain: 65365 "));
      CHECK(lines[1] == "blocking chain cleared: 65365 no longer holds anyone up");
    }
  }
}

}  // namespace
}  // namespace lockwatch
