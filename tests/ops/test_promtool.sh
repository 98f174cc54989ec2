#!/usr/bin/env bash
# Checks the Prometheus side of pg_lockwatch with promtool (no server needed):
#   1. promtool check rules dashboards/pg_lockwatch.rules.yml
#   2. promtool test rules  tests/ops/alerts.test.yml
#   3. every alert in the rules has a firing and a not-firing unit test case
#   4. every alert has labels.severity, annotations summary/description/runbook_url,
#      runbook_url = docs/RUNBOOK.md#<alertname lower-cased>, and that section exists
#   5. every dashboard expression (Grafana variables substituted by
#      tests/ops/promql_exprs.py) is valid PromQL: they are wrapped as recording
#      rules and fed to `promtool check rules`
#   6. promql_exprs.py's built-in YAML reader agrees with PyYAML (when installed)
# Usage: tests/ops/test_promtool.sh      (needs promtool and python3; no env vars)
# Exit: 0 pass, 1 fail, 77 skip (promtool not installed).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rules=$root/dashboards/pg_lockwatch.rules.yml
tests=$here/alerts.test.yml
dash=$root/dashboards/pg_lockwatch.json
runbook=$root/docs/RUNBOOK.md
py=${PYTHON:-python3}

if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP: promtool not installed (apt-get install prometheus)"
  exit 77
fi
echo "test_promtool: $(promtool --version 2>&1 | head -1)"

passes=0
fails=0
ok()   { echo "ok   - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1.
if out=$(promtool check rules "$rules" 2>&1); then
  ok "promtool check rules: $(printf '%s' "$out" | grep -o 'SUCCESS.*')"
else
  printf '%s\n' "$out" | sed 's/^/    | /'; fail "promtool check rules $rules"
fi

# 2.
if out=$(cd "$here" && promtool test rules "$(basename "$tests")" 2>&1); then
  ok "promtool test rules $(basename "$tests"): SUCCESS"
else
  printf '%s\n' "$out" | sed 's/^/    | /'; fail "promtool test rules $tests"
fi

# 3. + 4. (structure of rules and tests; stdlib-only line reading)
if out=$("$py" - "$rules" "$tests" "$runbook" <<'EOF'
import re, sys
rules_text = open(sys.argv[1]).read()
tests_text = open(sys.argv[2]).read()
try:
    runbook = open(sys.argv[3]).read()
except OSError:
    runbook = ""
bad = 0
def say(ok, msg):
    global bad
    print(("ok   - " if ok else "FAIL - ") + msg)
    bad += 0 if ok else 1

# split the rules file into one block per alert
blocks = re.split(r"\n(?=\s*- alert:)", rules_text)
alerts = {}
for b in blocks:
    m = re.match(r"\s*- alert:\s*(\S+)", b)
    if m:
        alerts[m.group(1)] = b
say(len(alerts) >= 8, "%d alerts in the rules file" % len(alerts))

# which alertnames have firing / not-firing cases
firing, quiet = set(), set()
lines = tests_text.splitlines()
for i, l in enumerate(lines):
    m = re.match(r"\s*alertname:\s*(\S+)", l)
    if not m:
        continue
    for l2 in lines[i + 1:i + 4]:
        m2 = re.match(r"\s*exp_alerts:\s*(.*)$", l2)
        if m2:
            (quiet if m2.group(1).strip() == "[]" else firing).add(m.group(1))
            break
headings = {h.strip() for h in re.findall(r"^#{2,3}\s+(.+)$", runbook, re.M)}
for name, b in alerts.items():
    say(name in firing and name in quiet,
        "%s: unit tests cover firing%s and not firing%s" % (
            name, "" if name in firing else " (MISSING)", "" if name in quiet else " (MISSING)"))
    missing = [k for k in ("severity:", "summary:", "description:", "runbook_url:") if k not in b]
    anchor = name.lower()
    url_ok = ('runbook_url: "docs/RUNBOOK.md#%s"' % anchor) in b
    say(not missing and url_ok,
        "%s: severity, summary, description, runbook_url docs/RUNBOOK.md#%s%s" % (
            name, anchor, (" (missing " + ", ".join(missing) + ")") if missing else ("" if url_ok else " (wrong url)")))
    say(name in headings, "%s: docs/RUNBOOK.md has a section '## %s'" % (name, name))
    say(re.search(r"severity:\s*(critical|warning|info)\b", b) is not None, "%s: severity is critical|warning|info" % name)
unknown = (firing | quiet) - set(alerts)
say(not unknown, "tests reference only existing alerts" + (": unknown " + ", ".join(sorted(unknown)) if unknown else ""))
sys.exit(1 if bad else 0)
EOF
); then
  printf '%s\n' "$out"; n=$(grep -c '^ok' <<<"$out"); passes=$((passes + n))
else
  printf '%s\n' "$out"
  passes=$((passes + $(grep -c '^ok' <<<"$out"))); fails=$((fails + $(grep -c '^FAIL' <<<"$out")))
  grep -q '^FAIL' <<<"$out" || fail "rules/tests structure check crashed"
fi

# 5. dashboard expressions are valid PromQL
if "$py" "$here/promql_exprs.py" exprs "$dash" >"$tmp/dash.json" 2>"$tmp/err"; then
  "$py" - "$tmp/dash.json" >"$tmp/dash_rules.yml" <<'EOF'
import json, sys
exprs = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard_exprs\n    rules:")
for i, e in enumerate(exprs):
    print("      - record: dashboard:expr_%d" % i)
    print("        expr: %s" % json.dumps(e["expr"]))
EOF
  n=$(grep -c 'record:' "$tmp/dash_rules.yml")
  if out=$(promtool check rules "$tmp/dash_rules.yml" 2>&1); then
    ok "all $n dashboard expressions parse as PromQL (promtool check rules)"
  else
    printf '%s\n' "$out" | sed 's/^/    | /'; fail "dashboard expressions do not parse"
  fi
else
  sed 's/^/    | /' "$tmp/err"; fail "promql_exprs.py exprs $dash"
fi

# 6. built-in YAML reader == PyYAML
if "$py" -c 'import yaml' 2>/dev/null; then
  if diff <("$py" "$here/promql_exprs.py" exprs "$rules") \
          <("$py" "$here/promql_exprs.py" exprs --no-yaml "$rules") >"$tmp/diff"; then
    ok "promql_exprs.py: built-in rules reader matches PyYAML"
  else
    sed 's/^/    | /' "$tmp/diff"; fail "promql_exprs.py built-in reader differs from PyYAML"
  fi
else
  echo "skip - PyYAML not installed: cannot cross-check the built-in YAML reader"
fi
n=$("$py" "$here/promql_exprs.py" exprs --no-yaml "$rules" | grep -c '"title"')
[[ $n -ge 8 ]] && ok "promql_exprs.py reads $n rule expressions without PyYAML" || fail "promql_exprs.py --no-yaml read $n rules"

echo "test_promtool: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
