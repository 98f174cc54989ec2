"""The act half against a real PostgreSQL: policies end the sessions at the root of a
chain, and nothing else; dry run, protections, cancel and the rate limit hold."""

import json
import os
import signal
import time

import psycopg2
import pytest

from lockwatch_harness import (FreezingProxy, alive, create_app_user, create_table,
                               stage_seed_incident, wait_for, wait_ready, write_config)

INTERVAL = 0.2


def policy_config(dry_run=False, action="terminate", states='["idle in transaction"]',
                  min_state_age="2s", protected_users="[]", per_minute=6, extra=""):
    return f"""
[safety]
dry_run = {str(dry_run).lower()}
max_actions_per_minute = {per_minute}
protected_users = {protected_users}

[[policy]]
name = "idle-blockers"
action = "{action}"
states = {states}
min_state_age = "{min_state_age}"
only_if_blocking = true
{extra}
"""


def actions(daemon, outcome, action="terminate"):
    return daemon.metric("pg_lockwatch_policy_actions_total",
                         {"policy": "idle-blockers", "action": action, "outcome": outcome})


def server_age(cluster, pid):
    """Seconds the backend has been in its state; None when it is gone already."""
    rows = cluster.query("SELECT extract(epoch FROM now() - state_change) "
                         "FROM pg_stat_activity WHERE pid = %s", (pid,))
    return float(rows[0][0]) if rows else None


def finish(conn):
    """Lets an async statement that was queued behind a lock finish; raises its error."""
    wait_ready(conn)


def test_enforcing_policy_resolves_the_seed_incident(start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, alter1, alter2, reader = stage_seed_incident(cluster, sessions, user=user)
    create_table(cluster, "bystander", owner=user)
    bystander = sessions.idle_in_transaction("SELECT count(*) FROM bystander", "report", user)
    queued = sessions.conns[1:4]

    daemon = start_daemon(policy_config(dry_run=False, min_state_age="2s"))

    # Due once the root has been idle min_state_age; allowed two poll intervals (plus slack
    # for a loaded machine) after that, counted from whichever comes later: now or then.
    started = time.monotonic()
    age = server_age(cluster, root)
    due_in = 0.0 if age is None else max(0.0, 2 - age)
    wait_for(lambda: not alive(cluster, root), timeout=10, what="the root to be terminated")
    late_by = time.monotonic() - started - due_in
    assert late_by <= 2 * INTERVAL + 1.0, f"terminated {late_by:.2f}s after it was due"
    for conn in queued:
        finish(conn)  # the ALTER TABLEs and the reader now complete
    assert cluster.query("SELECT count(*) FROM information_schema.columns WHERE "
                         "table_name = 'accounts' AND column_name IN ('note', 'note2')")[0][0] == 2
    assert alive(cluster, bystander), "an idle transaction that blocks nobody must survive"
    wait_for(lambda: actions(daemon, "terminated") == 1, what="the terminated counter")
    line = daemon.find(rf"policy action: outcome=terminated .*pid={root} .*")
    assert line, daemon.log()
    assert 'user="lw_app"' in line.group(0) and "blocked=3" in line.group(0)
    assert 'query="SELECT count(*) FROM accounts"' in line.group(0)
    assert not daemon.find(rf"pid={bystander} ")


def test_dry_run_signals_nothing_but_counts_and_logs_once(start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    daemon = start_daemon(policy_config(dry_run=True, min_state_age="0s"))

    wait_for(lambda: actions(daemon, "dry_run") == 1, what="the dry_run counter")
    polls = daemon.metric("pg_lockwatch_polls_total")
    wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="more polls")
    assert alive(cluster, root)
    assert actions(daemon, "dry_run") == 1, "one decision per session, not one per poll"
    assert actions(daemon, "terminated") == 0
    assert len([l for l in daemon.lines if "outcome=dry_run" in l]) == 1
    status, body = daemon.get("/chains")
    verdict = json.loads(body)["roots"][0]["policy"]
    assert verdict == {"name": "idle-blockers", "action": "terminate", "outcome": "dry_run"}


def test_protected_user_survives(start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    daemon = start_daemon(policy_config(dry_run=False, min_state_age="0s",
                                        protected_users=f'["{user}"]'))
    wait_for(lambda: actions(daemon, "protected") == 1, what="the protected counter")
    polls = daemon.metric("pg_lockwatch_polls_total")
    wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="more polls")
    assert alive(cluster, root)
    assert daemon.find(rf"outcome=protected .*pid={root} .*reason=\"protected user {user}\"")


def test_superuser_blocker_is_skipped_by_default(start_daemon, cluster, sessions):
    root, *_ = stage_seed_incident(cluster, sessions, user="postgres")
    daemon = start_daemon(policy_config(dry_run=False, min_state_age="0s"))
    wait_for(lambda: actions(daemon, "protected") == 1, what="the protected counter")
    assert alive(cluster, root)
    assert daemon.find(r'reason="superuser postgres"')


def test_cancel_policy_cancels_the_query_and_keeps_the_session(start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    create_table(cluster, "ledger", owner=user)
    long_conn = cluster.connect("batch", user=user, async_=True)
    wait_ready(long_conn)
    sessions.conns.append(long_conn)
    long_pid = long_conn.get_backend_pid()
    sessions.start(long_conn, "SELECT count(*), pg_sleep(60) FROM ledger")
    wait_for(lambda: cluster.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND "
                                   "wait_event = 'PgSleep'", (long_pid,)), what="the sleep")
    _, alter = sessions.blocked("ALTER TABLE ledger ADD COLUMN memo text", "migrate", user)

    daemon = start_daemon(policy_config(dry_run=False, action="cancel", states='["active"]',
                                        min_state_age="1s"))

    with pytest.raises(psycopg2.errors.QueryCanceled):
        finish(long_conn)
    finish(alter)
    assert alive(cluster, long_pid), "cancel must leave the session connected"
    assert long_conn.closed == 0
    wait_for(lambda: actions(daemon, "cancelled", action="cancel") == 1, what="the counter")


def test_rate_limit_holds_when_many_match(start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    roots = []
    for i in range(5):
        table = f"rated_{i}"
        create_table(cluster, table, owner=user)
        roots.append(sessions.idle_in_transaction(f"SELECT count(*) FROM {table}", "api", user))
        sessions.blocked(f"ALTER TABLE {table} ADD COLUMN c int", "migrate", user)

    daemon = start_daemon(policy_config(dry_run=False, min_state_age="0s", per_minute=2))

    wait_for(lambda: actions(daemon, "rate_limited") == 3, what="3 rate-limited decisions")
    polls = daemon.metric("pg_lockwatch_polls_total")
    wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="more polls")
    assert actions(daemon, "terminated") == 2
    assert sum(alive(cluster, pid) for pid in roots) == 3


FAST_WATCH = '[watch]\ninterval = "200ms"\nstatement_timeout = "500ms"\nconnect_timeout = "2s"\n'


def test_a_signal_whose_answer_never_came_is_audited_unknown_then_confirmed(
        start_daemon, cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    # The signal reaches the server, its answer never reaches the daemon: the poll passes
    # its deadline after the session was already terminated.
    proxy = FreezingProxy(cluster, b"pg_terminate_backend", frozen_connections=1)
    try:
        daemon = start_daemon(FAST_WATCH + policy_config(min_state_age="0s"),
                              extra_args=["--dsn", proxy.dsn])
        wait_for(lambda: not alive(cluster, root), what="the server to terminate the root")
        wait_for(lambda: daemon.find("poll exceeded its deadline"), what="the deadline")
        unknown = wait_for(lambda: daemon.find(rf"policy action: outcome=unknown .*pid={root} .*"),
                           what="the audit of the unanswered signal")
        assert "reason=" in unknown.group(0)
        confirmed = wait_for(
            lambda: daemon.find(rf"policy action: outcome=terminated .*pid={root} .*"),
            what="the next poll's confirmation")
        assert "confirmed" in confirmed.group(0)
        wait_for(lambda: actions(daemon, "terminated") == 1, what="the terminated counter")
        assert actions(daemon, "unknown") == 1
        assert actions(daemon, "failed") == 0
    finally:
        proxy.close()


def server_pid_stopped(pid, stop):
    os.kill(pid, signal.SIGSTOP if stop else signal.SIGCONT)


def test_terminated_means_the_backend_exited(start_daemon, cluster, sessions):
    """PostgreSQL 14+: pg_terminate_backend(pid, timeout) waits for the exit. A backend
    that cannot act on the signal yet (stopped here) is `unknown` until a poll sees it gone."""
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    server_pid_stopped(root, True)
    try:
        daemon = start_daemon(policy_config(min_state_age="0s"))
        wait_for(lambda: daemon.find(rf"policy action: outcome=unknown .*pid={root} .*"),
                 what="the unconfirmed signal")
        polls = daemon.metric("pg_lockwatch_polls_total")
        wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 3,
                 what="more polls")
        assert alive(cluster, root)
        assert not daemon.find(rf"outcome=terminated .*pid={root} "), \
            "terminated while the backend was still there"
        assert actions(daemon, "unknown") == 1, "signalled once, not once per poll"
    finally:
        server_pid_stopped(root, False)
    wait_for(lambda: daemon.find(rf"policy action: outcome=terminated .*pid={root} .*confirmed"),
             what="the confirmation once it exited")
    assert not alive(cluster, root)
    wait_for(lambda: actions(daemon, "terminated") == 1, what="the termination to be counted")


def test_a_broken_reload_keeps_the_policies_and_a_good_one_replaces_them(
        start_daemon, cluster, sessions, tmp_path):
    user = create_app_user(cluster)
    daemon = start_daemon(policy_config(dry_run=True, min_state_age="0s"))
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    path = os.path.join(str(tmp_path), "pg_lockwatch.toml")
    good = open(path).read()
    write_config(tmp_path, good.replace("only_if_blocking = true", "only_if_blocking = maybe"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.find("config reload failed"), what="the failed reload")

    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    wait_for(lambda: daemon.find(rf'outcome=dry_run policy="idle-blockers" .*pid={root} '),
             what="the old policy to decide after the failed reload")

    write_config(tmp_path, good.replace('"idle-blockers"', '"replacement"'))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.find("config reloaded from"), what="the good reload")
    wait_for(lambda: daemon.find(rf'outcome=dry_run policy="replacement" .*pid={root} '),
             what="the new policy to decide")
    assert alive(cluster, root)


def test_a_policy_that_needs_no_blocker_acts_on_a_quiet_server(start_daemon, cluster, sessions):
    """Nobody waits for a lock, so the poll reads no lock table and materialises no activity
    rows for the graph: the candidate of a policy with only_if_blocking = false must still
    come back as a row and be ended, and a younger idle session kept."""
    user = create_app_user(cluster)
    old = sessions.idle_in_transaction("SELECT 1", "leaky-job", user)
    wait_for(lambda: (server_age(cluster, old) or 0) >= 3, what="the old session to age")
    daemon = start_daemon(policy_config(min_state_age="3s").replace(
        "only_if_blocking = true", "only_if_blocking = false"))
    young = sessions.idle_in_transaction("SELECT 1", "fresh-job", user)
    wait_for(lambda: not alive(cluster, old), what="the old idle transaction to be ended")
    wait_for(lambda: actions(daemon, "terminated") == 1, what="the termination to be counted")
    assert alive(cluster, young), "a session younger than min_state_age is kept"
