#!/usr/bin/env python3
"""Static checks of dashboards/pg_lockwatch.json against the daemon's metric contract.

    python3 tests/ops/test_dashboard.py [DASHBOARD_JSON] [RULES_YML]

Checks: the JSON parses and looks importable (schemaVersion, uid, unique panel
ids, gridPos); the `datasource` (type datasource, query prometheus) and
`instance` (label_values(pg_lockwatch_up, instance)) variables exist; every
panel and target uses the datasource variable; every pg_lockwatch_* selector
filters instance=~"$instance"; only the contract's metric names and labels
are used (the rules file too); the required panels exist (root blocker table
is an instant table query, poll duration uses histogram_quantile, ...).
Standard library only. Exit 0 when every check passes, 1 otherwise.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promql_exprs  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The contract: exactly what the daemon exports (name -> its own labels).
# Prometheus adds instance and job at scrape time.
CONTRACT = {
    "pg_lockwatch_up": set(),
    "pg_lockwatch_backends": {"state"},
    "pg_lockwatch_lock_waiting_backends": set(),
    "pg_lockwatch_lock_waiting_backends_by_type": {"locktype"},
    "pg_lockwatch_lock_waiting_backends_by_mode": {"mode"},
    "pg_lockwatch_missing_privilege": {"privilege"},
    "pg_lockwatch_lock_snapshot_age_seconds": set(),
    "pg_lockwatch_lock_snapshot_stalls_total": set(),
    "pg_lockwatch_blocked_backends": set(),
    "pg_lockwatch_root_blockers": set(),
    "pg_lockwatch_max_chain_length": set(),
    "pg_lockwatch_longest_lock_wait_seconds": set(),
    "pg_lockwatch_oldest_transaction_seconds": set(),
    "pg_lockwatch_oldest_idle_in_transaction_seconds": set(),
    "pg_lockwatch_root_blocker_blocked_backends": {"rank", "pid", "datname", "usename", "application_name", "state"},
    "pg_lockwatch_poll_duration_seconds": {"le"},  # histogram family
    "pg_lockwatch_polls_total": set(),
    "pg_lockwatch_poll_errors_total": set(),
    "pg_lockwatch_last_successful_poll_timestamp_seconds": set(),
    "pg_lockwatch_build_info": {"version", "server_version"},
    "pg_lockwatch_policy_actions_total": {"policy", "action", "outcome"},
    "pg_lockwatch_via_pooler": set(),
    "pg_lockwatch_ghost_lock_holders": set(),
    "pg_lockwatch_pooler_up": {"pooler"},
    "pg_lockwatch_pooler_reads_total": {"pooler"},
    "pg_lockwatch_pooler_read_errors_total": {"pooler"},
}
TARGET_LABELS = {"instance", "job"}
BACKEND_STATES = {"active", "idle", "idle_in_transaction", "idle_in_transaction_aborted",
                  "fastpath_function_call", "disabled"}
ACTIONS = {"terminate", "cancel", "log"}
OUTCOMES = {"terminated", "cancelled", "logged", "dry_run", "vanished", "protected", "rate_limited", "denied", "failed", "unknown"}
DS_VARS = {"${datasource}", "$datasource"}

# Metrics the dashboard must show (issue "Operate", item 3).
REQUIRED_ON_DASHBOARD = [
    "pg_lockwatch_up", "pg_lockwatch_backends", "pg_lockwatch_lock_waiting_backends",
    "pg_lockwatch_blocked_backends", "pg_lockwatch_max_chain_length",
    "pg_lockwatch_longest_lock_wait_seconds", "pg_lockwatch_oldest_transaction_seconds",
    "pg_lockwatch_oldest_idle_in_transaction_seconds", "pg_lockwatch_root_blocker_blocked_backends",
    "pg_lockwatch_policy_actions_total", "pg_lockwatch_poll_duration_seconds",
    "pg_lockwatch_poll_errors_total", "pg_lockwatch_via_pooler",
    "pg_lockwatch_lock_waiting_backends_by_type", "pg_lockwatch_lock_waiting_backends_by_mode",
]

SELECTOR_RE = re.compile(r"\b(pg_lockwatch_[A-Za-z0-9_]*[A-Za-z0-9])\s*(\{[^}]*\})?")
MATCHER_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING_RE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   - " + what)
        else:
            self.failed += 1
            print("FAIL - " + what + (": " + detail if detail else ""))
        return cond


def ds_uid(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds  # legacy: datasource given as a plain string


def selector_problems(expr, require_instance):
    """Problems with metric names, label matchers and instance filtering of one expression."""
    problems = []
    for name, sel in SELECTOR_RE.findall(expr):
        fam = promql_exprs.family(name)
        if fam not in CONTRACT:
            problems.append("unknown metric %s" % name)
            continue
        allowed = CONTRACT[fam] | TARGET_LABELS
        matchers = MATCHER_RE.findall(sel or "")
        for label, op, value in matchers:
            if label not in allowed:
                problems.append("%s has no label %s" % (name, label))
            if fam == "pg_lockwatch_backends" and label == "state" and op == "=" and value not in BACKEND_STATES:
                problems.append("state=%s is not a backend state" % value)
            if fam == "pg_lockwatch_policy_actions_total" and op in ("=", "=~"):
                vocab = {"action": ACTIONS, "outcome": OUTCOMES}.get(label)
                if vocab is not None:
                    for v in value.split("|"):
                        if v not in vocab:
                            problems.append("%s=%s is not a known %s" % (label, v, label))
        if require_instance and ("instance", "=~", "$instance") not in matchers:
            problems.append('%s does not filter instance=~"$instance"' % name)
    for group in GROUPING_RE.findall(expr):
        for label in (g.strip() for g in group.split(",")):
            if label and label not in TARGET_LABELS and label != "le" and \
                    not any(label in labels for labels in CONTRACT.values()):
                problems.append("groups by unknown label %s" % label)
    return problems


def main(argv):
    dash_path = argv[1] if len(argv) > 1 else os.path.join(ROOT, "dashboards", "pg_lockwatch.json")
    rules_path = argv[2] if len(argv) > 2 else os.path.join(ROOT, "dashboards", "pg_lockwatch.rules.yml")
    c = Checker()
    print("test_dashboard: %s" % dash_path)

    try:
        with open(dash_path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        c.check(False, "dashboard JSON parses", str(e))
        print("test_dashboard: %d passed, %d failed" % (c.passed, c.failed))
        return 1
    c.check(True, "dashboard JSON parses")
    c.check(isinstance(dash.get("schemaVersion"), int) and 36 <= dash["schemaVersion"] <= 41,
            "schemaVersion ~38 (got %s)" % dash.get("schemaVersion"))
    c.check(bool(dash.get("uid")) and bool(dash.get("title")), "has uid and title")
    c.check(dash.get("id") is None, "id is null (importable into any Grafana)")

    # ---- variables
    tvars = {v.get("name"): v for v in (dash.get("templating") or {}).get("list", [])}
    ds = tvars.get("datasource") or {}
    c.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
            "variable datasource: type datasource, query prometheus", json.dumps(ds)[:200])
    inst = tvars.get("instance") or {}
    q = inst.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    c.check(inst.get("type") == "query" and q == "label_values(pg_lockwatch_up, instance)",
            "variable instance: label_values(pg_lockwatch_up, instance)", "query=%r" % q)
    c.check(ds_uid(inst.get("datasource")) in DS_VARS, "variable instance uses ${datasource}")
    c.check(inst.get("includeAll") is True and inst.get("allValue") == ".*",
            "variable instance has All = .*", "includeAll=%r allValue=%r" % (inst.get("includeAll"), inst.get("allValue")))

    # ---- panels
    panels = list(promql_exprs.dashboard_panels(dash))
    ids = [p.get("id") for p in panels]
    c.check(len(ids) == len(set(ids)) and None not in ids, "panel ids unique (%d panels, rows included)" % len(panels))
    c.check(all(isinstance(p.get("gridPos"), dict) for p in panels), "every panel has a gridPos")
    nested = [p for p in panels if p.get("type") == "row" and p.get("panels")]
    n_targets = 0
    metrics_seen = set()
    for p in panels:
        if p.get("type") == "row":
            continue
        title = p.get("title", "?")
        problems = []
        if ds_uid(p.get("datasource")) not in DS_VARS:
            problems.append("panel datasource is %r, not ${datasource}" % (p.get("datasource"),))
        targets = p.get("targets") or []
        if not targets:
            problems.append("no targets")
        for t in targets:
            n_targets += 1
            ref = t.get("refId", "?")
            if ds_uid(t.get("datasource")) not in DS_VARS:
                problems.append("[%s] target datasource is %r, not ${datasource}" % (ref, t.get("datasource")))
            expr = t.get("expr") or ""
            if not expr.strip():
                problems.append("[%s] no expr" % ref)
                continue
            problems += ["[%s] %s" % (ref, x) for x in selector_problems(expr, require_instance=True)]
            metrics_seen.update(promql_exprs.metric_names([expr]))
        c.check(not problems, "panel '%s' (%s, %d target%s): ${datasource}, contract metrics/labels, "
                'instance=~"$instance"' % (title, p.get("type"), len(targets), "" if len(targets) == 1 else "s"),
                "; ".join(problems))

    print("note - %d targets in %d panels, %d collapsed row(s) with nested panels" %
          (n_targets, len([p for p in panels if p.get("type") != "row"]), len(nested)))
    missing = [m for m in REQUIRED_ON_DASHBOARD if m not in metrics_seen]
    c.check(not missing, "dashboard shows every required metric", "missing " + ", ".join(missing))

    def targets_of(metric):
        for p in panels:
            for t in p.get("targets") or []:
                if metric in (t.get("expr") or ""):
                    yield p, t

    c.check(any(t.get("instant") is True and t.get("format") == "table" and p.get("type") == "table"
                for p, t in targets_of("pg_lockwatch_root_blocker_blocked_backends")),
            "top root blockers: table panel with an instant, format=table query")
    c.check(any("histogram_quantile" in t["expr"] and "pg_lockwatch_poll_duration_seconds_bucket" in t["expr"]
                for _p, t in targets_of("pg_lockwatch_poll_duration_seconds_bucket")),
            "poll duration panel uses histogram_quantile over _bucket")
    c.check(any(re.search(r"\b(rate|increase)\(", t["expr"]) for _p, t in targets_of("pg_lockwatch_policy_actions_total")),
            "policy actions panel uses rate/increase")
    c.check(any("outcome" in t["expr"] for _p, t in targets_of("pg_lockwatch_policy_actions_total")),
            "policy actions are broken down by outcome")
    c.check(all(re.search(r"\b(rate|increase)\(", t["expr"])
                for name in ("pg_lockwatch_polls_total", "pg_lockwatch_poll_errors_total",
                             "pg_lockwatch_policy_actions_total")
                for _p, t in targets_of(name)),
            "counters are only used through rate()/increase()")

    # ---- substituted expressions are what a live Prometheus gets
    for e in promql_exprs.dashboard_exprs(dash_path):
        if "$" in e["expr"]:
            c.check(False, "substituted expr has no Grafana variables left", e["title"] + ": " + e["expr"])
            break
    else:
        c.check(True, "every substituted dashboard expr is free of Grafana variables")

    # ---- rules use only the contract too
    if os.path.exists(rules_path):
        for e in promql_exprs.rules_exprs(rules_path):
            problems = selector_problems(e["expr"], require_instance=False)
            c.check(not problems, "rule %s: contract metrics/labels only" % e["title"], "; ".join(problems))

    print("test_dashboard: %d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
