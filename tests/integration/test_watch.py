"""The watch half against a real PostgreSQL: the seed incident is seen within a poll,
exported, logged, and cleared; the daemon survives a server restart and reloads."""

import json
import os
import shutil
import signal
import subprocess

import pytest

from lockwatch_harness import stage_seed_incident, wait_for, write_config


def chains(daemon):
    status, body = daemon.get("/chains")
    return json.loads(body) if status == 200 else None


def test_seed_incident_is_reported_as_one_chain_of_four(start_daemon, cluster, sessions):
    root, alter1, alter2, reader = stage_seed_incident(cluster, sessions)
    daemon = start_daemon()

    doc = wait_for(lambda: (c := chains(daemon)) and c["roots"] and c, what="a chain")
    assert doc["max_chain_length"] == 4
    assert doc["blocked"] == 3 and doc["waiting"] == 3
    top = doc["roots"][0]
    assert top["pid"] == root
    assert top["state"] == "idle in transaction"
    assert top["application_name"] == "api"
    assert top["blocked_total"] == 3
    assert top["longest_chain"] == [root, alter1, alter2, reader]
    assert {w["pid"] for w in top["waiters"]} == {alter1, alter2, reader}
    by_pid = {w["pid"]: w for w in top["waiters"]}
    # What each waits for and why, from the one lock snapshot: the first ALTER wants
    # AccessExclusiveLock on public.accounts, which the idle reader holds as AccessShareLock;
    # the second queues behind the first (which implies the reader), the reader behind both.
    want = by_pid[alter1]["wants"][0]
    assert want["mode"] == "AccessExclusiveLock"
    assert want["lock"]["type"] == "relation"
    assert want["lock"]["relation"] == "public.accounts"
    assert by_pid[alter1]["blockers"] == [{"pid": root, "how": "holds", "mode": "AccessShareLock",
                                           "reason": f"held as AccessShareLock by {root}"}]
    assert by_pid[alter2]["blocked_by"] == [alter1]
    assert by_pid[alter2]["blockers"][0]["how"] == "queued_ahead"
    assert by_pid[reader]["blocked_by"] == [alter2]
    assert by_pid[reader]["wants"][0]["mode"] == "AccessShareLock"
    assert top["holds"] == [{"lock": want["lock"], "mode": "AccessShareLock"}]
    assert doc["lock_snapshot"] is True

    assert daemon.metric("pg_lockwatch_max_chain_length") == 4
    assert daemon.metric("pg_lockwatch_blocked_backends") == 3
    assert daemon.metric("pg_lockwatch_lock_waiting_backends") == 3
    assert daemon.metric("pg_lockwatch_root_blockers") == 1
    assert daemon.metric("pg_lockwatch_root_blocker_blocked_backends",
                         {"rank": "1", "pid": str(root), "application_name": "api"}) == 3
    assert daemon.metric("pg_lockwatch_backends", {"state": "idle_in_transaction"}) >= 1
    assert daemon.metric("pg_lockwatch_lock_waiting_backends_by_type", {"locktype": "relation"}) == 3
    assert daemon.metric("pg_lockwatch_lock_waiting_backends_by_mode",
                         {"mode": "AccessExclusiveLock"}) == 2

    line = wait_for(lambda: daemon.find(r"blocking chain: .*"), what="the chain log line")
    assert f"{root} (api, idle in transaction" in line.group(0)
    assert f"-> {alter1} (migrate, waiting" in line.group(0)
    assert "for AccessExclusiveLock on relation public.accounts: ALTER TABLE" in line.group(0)
    assert line.group(0).endswith(f"-> {alter2} -> {reader} (holds up 3)")


def test_chain_clears_when_the_blocker_ends(start_daemon, cluster, sessions):
    root, *_ = stage_seed_incident(cluster, sessions)
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 4, what="the chain")

    sessions.conns[0].rollback()  # the idle transaction ends; the queue drains

    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 0, what="chain to clear")
    assert daemon.metric("pg_lockwatch_blocked_backends") == 0
    assert chains(daemon)["roots"] == []
    wait_for(lambda: daemon.find(rf"blocking chain cleared: {root} "), what="the cleared line")


def test_query_literals_never_reach_json_metrics_or_logs(start_daemon, cluster, sessions):
    cluster.query("DROP TABLE IF EXISTS secrets; CREATE TABLE secrets (v text)")
    sessions.idle_in_transaction("SELECT * FROM secrets WHERE v = 'hunter2-literal'", "leaky")
    sessions.blocked("ALTER TABLE secrets ADD COLUMN w int", "migrate")
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 2, what="the chain")
    wait_for(lambda: daemon.find("blocking chain:"), what="the log line")
    status, body = daemon.get("/chains")
    assert "SELECT * FROM secrets WHERE v = ?" in body
    for text in (body, daemon.metrics(), daemon.log()):
        assert "hunter2-literal" not in text


def test_recovers_after_a_server_restart_without_restarting(start_daemon, cluster):
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    assert daemon.get("/healthz")[0] == 200

    cluster.stop()  # immediate shutdown: every session, ours included, is cut
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_up") == 0, what="up to drop")
        wait_for(lambda: daemon.get("/healthz")[0] == 503, what="healthz to fail")
        assert daemon.metric("pg_lockwatch_poll_errors_total") >= 1
    finally:
        cluster.start()

    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, timeout=40, what="up to return")
    assert daemon.proc.poll() is None
    assert daemon.get("/healthz")[0] == 200
    assert daemon.find("poll recovered after")


def test_metrics_pass_promtool(start_daemon, cluster, sessions, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-deps.sh --test installs prometheus"
    stage_seed_incident(cluster, sessions)
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_max_chain_length") == 4, what="the chain")
    result = subprocess.run([promtool, "check", "metrics"], input=daemon.metrics(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_own_session_is_named_and_takes_no_catalog_lock(start_daemon, cluster):
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_lockwatch'")
    assert len(rows) == 1
    own_pid = rows[0][0]

    # Hold ACCESS EXCLUSIVE on everything pg_stat_activity would read. A poll that touched
    # any of them would queue behind us and fail on its lock_timeout.
    locker = cluster.connect("locker", autocommit=False)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE pg_catalog.pg_stat_activity, pg_catalog.pg_database, "
                        "pg_catalog.pg_authid, pg_catalog.pg_roles IN ACCESS EXCLUSIVE MODE")
        errors = daemon.metric("pg_lockwatch_poll_errors_total")
        polls = daemon.metric("pg_lockwatch_polls_total")
        wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="5 polls")
        assert daemon.metric("pg_lockwatch_poll_errors_total") == errors
        assert daemon.metric("pg_lockwatch_up") == 1
    finally:
        locker.rollback()
        locker.close()
    waiting = cluster.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                            (own_pid,))
    assert waiting[0][0] != "Lock"


def test_sighup_keeps_the_last_good_config(start_daemon, tmp_path):
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    config_path = os.path.join(str(tmp_path), "pg_lockwatch.toml")
    good = open(config_path).read()
    write_config(tmp_path, good + "[watch]\ninterval = \"fast\"\n")

    daemon.signal(signal.SIGHUP)

    line = wait_for(lambda: daemon.find("config reload failed.*"), what="the reload error")
    assert "pg_lockwatch.toml:" in line.group(0)
    polls = daemon.metric("pg_lockwatch_polls_total")
    wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 3, what="more polls")
    assert daemon.metric("pg_lockwatch_up") == 1

    write_config(tmp_path, good.replace('interval = "200ms"', 'interval = "300ms"'))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: daemon.find("config reloaded from"), what="the reload")


def test_sigterm_exits_cleanly(start_daemon):
    daemon = start_daemon()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="up")
    assert daemon.stop() == 0
    assert daemon.find("stopped")


def test_prepared_transactions_are_roots_of_their_own_named_by_gid(start_daemon, cluster,
                                                                    sessions):
    cluster.query("DROP TABLE IF EXISTS prepared_rows; "
                  "CREATE TABLE prepared_rows (id int PRIMARY KEY); "
                  "INSERT INTO prepared_rows VALUES (1), (2)")
    for row, gid in ((1, "batch-1"), (2, "batch-2")):
        conn = cluster.connect("batch", autocommit=False)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM prepared_rows WHERE id = %s FOR UPDATE", (row,))
            cur.execute(f"PREPARE TRANSACTION '{gid}'")
        conn.close()
    try:
        first, _ = sessions.blocked("UPDATE prepared_rows SET id = id WHERE id = 1", "app1")
        second, _ = sessions.blocked("UPDATE prepared_rows SET id = id WHERE id = 2", "app2")
        daemon = start_daemon()
        doc = wait_for(lambda: (c := chains(daemon)) and len(c["roots"]) == 2 and c,
                       what="two roots")
        by_gid = {r["prepared"]["gid"]: r for r in doc["roots"]}
        assert set(by_gid) == {"batch-1", "batch-2"}
        for gid, waiter in (("batch-1", first), ("batch-2", second)):
            root = by_gid[gid]
            assert root["pid"] == 0 and root["state"] == "prepared transaction"
            assert root["prepared"]["owner"] == "postgres"
            assert root["prepared"]["database"] == "postgres"
            assert [w["pid"] for w in root["waiters"]] == [waiter]
            assert root["waiters"][0]["blockers"][0]["prepared_gid"] == gid
        line = wait_for(lambda: daemon.find(r"blocking chain: prepared \(prepared transaction "
                                            r"'batch-1' \(postgres, \d+s\)\)"), what="log line")
        assert line
    finally:
        sessions.close()
        admin = cluster.connect("cleanup")  # autocommit, outside any transaction block
        for gid in ("batch-1", "batch-2"):
            admin.cursor().execute(f"ROLLBACK PREPARED '{gid}'")
        admin.close()
