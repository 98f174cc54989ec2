"""Behind a real pgbouncer (Debian's): pg_lockwatch reads its admin console and names the
real client (address and port) of every blocker that is one of its server connections, in
check, /chains and the log; policies match that client; a lock held by a server connection
no client owns is a ghost lock; a pooler that stops answering costs its attribution, never
the chain or the daemon's health."""

import json
import os
import re
import socket

import psycopg2
import pytest

from lockwatch_harness import (PGBOUNCER, Pgbouncer, alive, create_app_user, create_table,
                               run_cli, wait_for, wait_ready)

pytestmark = pytest.mark.skipif(PGBOUNCER is None,
                                reason="pgbouncer is not installed "
                                       "(scripts/install-deps.sh --test)")


def explain(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture(params=["transaction", "session"])
def bouncer(request, cluster):
    b = Pgbouncer(cluster, pool_mode=request.param)
    yield b
    b.stop()


class Pooled:
    """Client sessions through pgbouncer; each knows its own local port, which is what
    pgbouncer's SHOW CLIENTS lists as the client's port."""

    def __init__(self, bouncer, cluster):
        self.bouncer = bouncer
        self.cluster = cluster
        self.conns = []

    def connect(self, application_name, user, **kw):
        conn = psycopg2.connect(self.bouncer.dsn_for(user), application_name=application_name,
                                connect_timeout=5, **kw)
        self.conns.append(conn)
        return conn

    @staticmethod
    def local_port(conn):
        s = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            return s.getsockname()[1]
        finally:
            s.close()

    def backend_of(self, application_name):
        rows = self.cluster.query("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                  (application_name,))
        assert len(rows) == 1, rows
        return rows[0][0]

    def idle_in_transaction(self, sql, application_name, user):
        """(backend pid, client port) of a pooled client that ran `sql` in a transaction it
        leaves open."""
        conn = self.connect(application_name, user)
        with conn.cursor() as cur:
            cur.execute(sql)
        return self.backend_of(application_name), self.local_port(conn)

    def close(self):
        for conn in self.conns:
            try:
                conn.close()
            except Exception:
                pass


@pytest.fixture
def pooled(bouncer, cluster):
    p = Pooled(bouncer, cluster)
    yield p
    p.close()


def queue_alter(cluster, sessions, table):
    """An ALTER TABLE on a direct session, queued behind whoever holds `table`."""
    pid, _ = sessions.blocked(f"ALTER TABLE {table} ADD COLUMN c{os.getpid()} int", "migrate")
    return pid


def only_root(chains):
    assert len(chains["roots"]) == 1, chains
    return chains["roots"][0]


def test_check_names_the_real_client_behind_a_blocker(cluster, sessions, bouncer, pooled):
    user = create_app_user(cluster)
    create_table(cluster, "pooled_check", owner=user)
    root, port = pooled.idle_in_transaction("SELECT count(*) FROM pooled_check", "api", user)
    alter = queue_alter(cluster, sessions, "pooled_check")

    tree = run_cli("check", "--pooler", bouncer.console_dsn, dsn=cluster.dsn)
    assert tree.returncode == 1, explain(tree)
    assert f"{root}  api via pgbouncer 127.0.0.1:{port}  idle in transaction" in tree.stdout, \
        explain(tree)
    assert tree.stderr == "", explain(tree)

    as_json = run_cli("check", "--json", "--pooler", bouncer.console_dsn, dsn=cluster.dsn)
    assert as_json.returncode == 1, explain(as_json)
    chains = json.loads(as_json.stdout)["chains"]
    r = only_root(chains)
    assert r["pid"] == root
    assert r["ghost_lock"] is False
    via = r["via_pooler"]
    assert (via["pooler"], via["client_linked"], via["client_addr"], via["client_port"],
            via["application_name"], via["user"], via["database"]) == \
        ("pgbouncer", True, "127.0.0.1", port, "api", user, "postgres"), via
    assert via["connect_time"] and via["state"]
    waiter = r["waiters"][0]
    assert waiter["pid"] == alter and "via_pooler" not in waiter, "a direct session is not pooled"
    assert chains["ghost_lock_holders"] == 0

    without = run_cli("check", "--json", dsn=cluster.dsn)
    assert "via_pooler" not in json.dumps(json.loads(without.stdout)["chains"])


def test_check_warns_and_goes_on_when_the_console_does_not_answer(cluster, sessions, bouncer,
                                                                  pooled):
    user = create_app_user(cluster)
    create_table(cluster, "pooled_down", owner=user)
    root, _ = pooled.idle_in_transaction("SELECT count(*) FROM pooled_down", "api", user)
    queue_alter(cluster, sessions, "pooled_down")
    bouncer.freeze()
    try:
        result = run_cli("check", "--pooler", bouncer.console_dsn, dsn=cluster.dsn, timeout=30)
    finally:
        bouncer.thaw()
    assert result.returncode == 1, explain(result)
    assert result.stderr.startswith("check: pooler pgbouncer not read, its clients are not "
                                    "named: "), explain(result)
    assert re.search(rf"^{root}  api +idle in transaction", result.stdout, re.M), explain(result)

    bad = run_cli("check", "--pooler", "nonsense", dsn=cluster.dsn)
    assert bad.returncode == 2, explain(bad)
    assert len(bad.stderr.splitlines()) == 1 and "pooler pgbouncer" in bad.stderr, explain(bad)


def pooler_config(bouncer, extra=""):
    return f"""
[[pooler]]
name = "edge"
dsn = "{bouncer.console_dsn}"
min_interval = "200ms"
{extra}"""


def test_daemon_names_the_client_in_chains_log_and_metrics(cluster, sessions, bouncer, pooled,
                                                           start_daemon):
    user = create_app_user(cluster)
    create_table(cluster, "pooled_daemon", owner=user)
    daemon = start_daemon(pooler_config(bouncer))
    wait_for(lambda: daemon.metric("pg_lockwatch_pooler_up", {"pooler": "edge"}) == 1,
             what="the first read of the console")

    root, port = pooled.idle_in_transaction("SELECT count(*) FROM pooled_daemon", "api", user)
    queue_alter(cluster, sessions, "pooled_daemon")

    def attributed():
        status, body = daemon.get("/chains")
        roots = json.loads(body)["roots"] if status == 200 else []
        return roots and roots[0].get("via_pooler") and roots[0]

    r = wait_for(attributed, what="the root's client in /chains")
    assert r["pid"] == root
    assert (r["via_pooler"]["pooler"], r["via_pooler"]["client_port"]) == ("edge", port)
    assert wait_for(lambda: daemon.find(rf"blocking chain: {root} \(api via edge "
                                        rf"127\.0\.0\.1:{port}, idle in transaction"),
                    what="the chain log line naming the client"), daemon.log()
    assert daemon.metric("pg_lockwatch_pooler_reads_total", {"pooler": "edge"}) >= 1
    assert daemon.metric("pg_lockwatch_pooler_read_errors_total", {"pooler": "edge"}) == 0
    assert daemon.metric("pg_lockwatch_ghost_lock_holders") == 0


def test_a_policy_restricted_to_one_client_ends_its_blocker_and_spares_the_other(
        cluster, sessions, bouncer, pooled, start_daemon):
    user = create_app_user(cluster)
    create_table(cluster, "pooled_api", owner=user)
    create_table(cluster, "pooled_batch", owner=user)
    api, api_port = pooled.idle_in_transaction("SELECT count(*) FROM pooled_api", "api", user)
    batch, _ = pooled.idle_in_transaction("SELECT count(*) FROM pooled_batch", "batch", user)
    queue_alter(cluster, sessions, "pooled_api")
    queue_alter(cluster, sessions, "pooled_batch")

    daemon = start_daemon(pooler_config(bouncer) + """
[safety]
dry_run = false

[[policy]]
name = "api-idle-blockers"
action = "terminate"
states = ["idle in transaction"]
min_state_age = "1s"
only_if_blocking = true
pooler_applications = ["api"]
""")
    wait_for(lambda: not alive(cluster, api), what="the api client's blocker to be terminated")
    line = wait_for(lambda: daemon.find(rf"policy action: outcome=terminated .*pid={api} .*"),
                    what="the audit line")
    assert f'pooler_client="edge 127.0.0.1:{api_port} application=api"' in line.group(0)
    # Several polls later the other client's blocker, identical but for its client, lives.
    reads = daemon.metric("pg_lockwatch_pooler_reads_total", {"pooler": "edge"})
    wait_for(lambda: daemon.metric("pg_lockwatch_pooler_reads_total",
                                   {"pooler": "edge"}) >= reads + 3, what="more pooler reads")
    assert alive(cluster, batch)
    assert not daemon.find(rf"pid={batch} "), daemon.log()


@pytest.mark.parametrize("bouncer", ["transaction"], indirect=True)
def test_a_session_lock_left_on_a_pooled_server_is_a_ghost_lock(cluster, sessions, bouncer,
                                                               pooled, start_daemon):
    """A session-level advisory lock taken through transaction pooling stays with the
    server connection after the transaction ends: pgbouncer hands the server back to the
    pool, linked to no client, and nobody will ever unlock it."""
    user = create_app_user(cluster)
    client = pooled.connect("leaky", user)
    client.autocommit = True
    with client.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(4711)")
    ghost = pooled.backend_of("leaky")
    waiter, _ = sessions.blocked("SELECT pg_advisory_lock(4711)", "victim")

    daemon = start_daemon(pooler_config(bouncer))
    wait_for(lambda: daemon.metric("pg_lockwatch_ghost_lock_holders") == 1,
             what="the ghost lock metric")
    status, body = daemon.get("/chains")
    r = only_root(json.loads(body))
    assert r["pid"] == ghost and r["ghost_lock"] is True, r
    assert r["via_pooler"]["client_linked"] is False
    assert r["waiters"][0]["pid"] == waiter
    assert wait_for(lambda: daemon.find(rf"blocking chain: {ghost} \(leaky via edge, no client "
                                        r"\(ghost lock\)"), what="the ghost lock log line"), \
        daemon.log()

    tree = run_cli("check", "--pooler", bouncer.console_dsn, dsn=cluster.dsn)
    assert f"{ghost}  leaky via pgbouncer, no client (ghost lock)" in tree.stdout, explain(tree)


def test_a_frozen_pooler_costs_the_attribution_not_the_chain(cluster, sessions, bouncer, pooled,
                                                             start_daemon):
    user = create_app_user(cluster)
    create_table(cluster, "pooled_frozen", owner=user)
    root, _ = pooled.idle_in_transaction("SELECT count(*) FROM pooled_frozen", "api", user)
    queue_alter(cluster, sessions, "pooled_frozen")
    daemon = start_daemon(pooler_config(bouncer, 'timeout = "300ms"\n'))

    def root_of_chains():
        status, body = daemon.get("/chains")
        roots = json.loads(body)["roots"] if status == 200 else []
        return roots[0] if roots else None

    wait_for(lambda: (root_of_chains() or {}).get("via_pooler"), what="the attribution")
    bouncer.freeze()
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_pooler_up", {"pooler": "edge"}) == 0,
                 what="pooler_up to drop")
        wait_for(lambda: "via_pooler" not in (root_of_chains() or {"via_pooler": 1}),
                 what="the chain without attribution")
        assert root_of_chains()["pid"] == root
        assert daemon.metric("pg_lockwatch_up") == 1
        assert daemon.metric("pg_lockwatch_pooler_read_errors_total", {"pooler": "edge"}) >= 1
        assert daemon.get("/healthz")[0] == 200
        assert daemon.find(r"pooler edge: admin console unavailable, blockers behind it are "
                           r"not named: "), daemon.log()
    finally:
        bouncer.thaw()
    wait_for(lambda: daemon.metric("pg_lockwatch_pooler_up", {"pooler": "edge"}) == 1,
             what="pooler_up back")
    assert wait_for(lambda: daemon.find(r"pooler edge: admin console answers again"),
                    what="the recovery line")


def test_pooler_detection_fires_on_the_same_port_number_as_postgres(cluster):
    """pgbouncer (session pooling, so the backend pid stays) on 127.0.0.2 with the cluster's
    own port number: only comparing the server's view of our socket with ours catches it."""
    same_port = Pgbouncer(cluster, pool_mode="session", listen_addr="127.0.0.2",
                          port=cluster.port)
    try:
        result = run_cli("check", dsn=same_port.dsn)
        assert result.returncode == 0, explain(result)
        assert "the connection goes through a pooler or proxy" in result.stderr, explain(result)
        assert "the server sees this connection come from 127.0.0.1:" in result.stderr
    finally:
        same_port.stop()
