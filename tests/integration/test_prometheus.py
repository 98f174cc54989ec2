"""The dashboard and the alert rules against a real Prometheus scraping a running daemon
while the seed incident is staged: every panel query returns data, every series an alert
reads exists, and the blocking-chain alert goes pending."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import pytest

from lockwatch_harness import ROOT, create_app_user, stage_seed_incident, wait_for

sys.path.insert(0, os.path.join(ROOT, "tests", "ops"))
import promql_exprs  # noqa: E402

DASHBOARD = os.path.join(ROOT, "dashboards", "pg_lockwatch.json")
RULES = os.path.join(ROOT, "dashboards", "pg_lockwatch.rules.yml")
SELECTOR = re.compile(r'\b((?:pg_lockwatch_\w+|up))\b(\{[^}]*\})?')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, target, directory):
        binary = shutil.which("prometheus")
        assert binary, "prometheus missing: scripts/install-deps.sh --test installs it"
        self.port = free_port()
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: pg_lockwatch
    static_configs: [{{targets: ["{target}"]}}]
""")
        self.log = open(os.path.join(directory, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={directory}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.get("/-/ready"), timeout=30, what="prometheus to be ready")

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return r.read().decode()

    def query(self, expr):
        body = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        assert body["status"] == "success", body
        return body["data"]["result"]

    def alerts(self):
        return json.loads(self.get("/api/v1/alerts"))["data"]["alerts"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture
def prometheus_on(tmp_path):
    started = []

    def start(target):
        started.append(Prometheus(target, tempfile.mkdtemp(dir=str(tmp_path))))
        return started[-1]

    yield start
    for p in started:
        p.stop()


def selectors(expr):
    """Every series selector in an expression (`up{job=...}`, `pg_lockwatch_x{...}`)."""
    return {m.group(0) for m in SELECTOR.finditer(expr)}


def test_every_panel_and_alert_query_returns_data(start_daemon, cluster, sessions,
                                                  prometheus_on, pgbouncer):
    user = create_app_user(cluster)
    stage_seed_incident(cluster, sessions, user=user)
    # A dry-run policy, so the policy-action series exist as they would in production, and
    # a real pgbouncer's console, so the pooler series (and their alert) exist too.
    daemon = start_daemon('[[policy]]\nname = "idle-blockers"\naction = "terminate"\n'
                          'min_state_age = "1s"\n'
                          f'[[pooler]]\nname = "edge"\ndsn = "{pgbouncer.console_dsn}"\n')
    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 4, what="the chain")
    prom = prometheus_on(daemon.base.replace("http://", ""))
    wait_for(lambda: prom.query("pg_lockwatch_max_chain_length == 4"), timeout=30,
             what="prometheus to scrape the chain")
    wait_for(lambda: prom.query('pg_lockwatch_pooler_up{pooler="edge"} == 1'), timeout=30,
             what="prometheus to scrape the pooler as up")

    exprs = promql_exprs.extract([DASHBOARD, RULES])
    panels = [e for e in exprs if e["source"] == "dashboard"]
    alerts = [e for e in exprs if e["source"] == "rules"]
    assert len(panels) >= 15 and len(alerts) >= 8

    # rate()/increase() need a few scrapes; poll each panel until it answers, with a deadline.
    for panel in panels:
        wait_for(lambda: prom.query(panel["expr"]), timeout=30,
                 what=f"panel {panel['title']!r} ({panel['expr']}) to return data")
    for alert in alerts:
        for selector in selectors(alert["expr"]):
            assert prom.query(selector), f"alert {alert['title']}: {selector} has no series"

    def chain_alert():
        return [a for a in prom.alerts() if a["labels"]["alertname"] == "PgLockwatchBlockingChain"
                and a["state"] in ("pending", "firing")]
    found = wait_for(chain_alert, timeout=60, what="PgLockwatchBlockingChain to go pending")
    assert found[0]["labels"]["severity"] == "warning"
    quiet = {a["labels"]["alertname"] for a in prom.alerts()} - {
        "PgLockwatchBlockingChain", "PgLockwatchRootBlockerHoldsMany"}
    assert not quiet, f"alerts that must not fire on a healthy daemon: {quiet}"
