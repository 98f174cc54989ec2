"""Incident scale on the real server: a hot-row pile-up of a thousand UPDATEs forms under a
running daemon (100ms polls). Every poll sees exactly one root, the transaction that
updated the row and went idle; none fails; /chains stays a few kilobytes; and once the
pile-up has formed, the chain log is quiet. The cluster is the test's own, for its
max_connections.

About a second after the pile-up forms, PostgreSQL's deadlock detector starts checking
each waiter (deadlock_timeout, 1s by default), and each check holds the whole lock table
while it walks the queue: on a 2-core machine the lock table does not answer for 20-30 s,
and no new connection gets in. The daemon must stay sighted through that: its standby
session polls pg_stat_activity while the main poll's lock read waits, and no poll fails."""

import json
import os
import resource
import subprocess
import tempfile
import time

import pytest

from lockwatch_harness import Cluster, Daemon, wait_for, write_config

WAITERS = int(os.environ.get("LOCKWATCH_PILEUP_WAITERS", "1000"))
STORM_WINDOW = float(os.environ.get("LOCKWATCH_PILEUP_WINDOW", "35"))


@pytest.fixture(scope="module")
def big_cluster():
    c = Cluster(tempfile.mkdtemp(prefix="lockwatch-pileup-"))
    os.environ["PG_MAX_CONNECTIONS"] = str(WAITERS + 50)
    try:
        c.start()
    finally:
        del os.environ["PG_MAX_CONNECTIONS"]
    yield c
    c.destroy()


def raise_open_files(needed):
    """pgbench needs a descriptor per client: raise the soft limit as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} a pile-up needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))


def chains(daemon):
    status, body = daemon.get("/chains")
    assert status == 200, body
    return body, json.loads(body)


def test_a_hot_row_pile_up_has_one_root_in_every_poll(big_cluster, tmp_path):
    raise_open_files(WAITERS + 200)
    big_cluster.query("CREATE TABLE hot (id int PRIMARY KEY, v int)")
    big_cluster.query("INSERT INTO hot VALUES (1, 0)")
    holder_conn = big_cluster.connect("holder", autocommit=False)
    with holder_conn.cursor() as cur:
        cur.execute("UPDATE hot SET v = v + 1 WHERE id = 1")
    holder = holder_conn.get_backend_pid()
    config = write_config(tmp_path, f'[database]\ndsn = "{big_cluster.dsn}"\n'
                                    '[watch]\ninterval = "100ms"\n')
    daemon = Daemon(config)
    # Connected and polled once before the pile-up, as in an incident: while it forms,
    # logins can hang in the server's start-up (the deadlock detector holds the lock table).
    wait_for(lambda: daemon.get("/chains")[0] == 200, timeout=30, what="the first poll")
    script = tmp_path / "update.sql"
    script.write_text("UPDATE hot SET v = v + 1 WHERE id = 1;\n")
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(big_cluster.port),
           "PGUSER": "postgres", "PGDATABASE": "postgres"}
    bench = subprocess.Popen(["pgbench", "-n", "-c", str(WAITERS), "-j", "2", "-t", "1",
                              "-f", str(script)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        roots, samples, sizes, stale, down = set(), 0, [], 0, 0
        deadline = time.monotonic() + 180
        formed = None
        while time.monotonic() < deadline:
            body, doc = chains(daemon)
            samples += 1
            sizes.append(len(body))
            stale += doc["lock_snapshot_stale"]
            down += daemon.metric("pg_lockwatch_up") != 1
            roots |= {r["pid"] for r in doc["roots"]}
            if doc["waiting"] >= WAITERS and formed is None:
                formed = time.monotonic()
                log_lines_formed = len([l for l in daemon.lines if "blocking chain" in l])
            # Through the deadlock detector's pass over the queue (see above), and a little.
            if formed and time.monotonic() - formed > STORM_WINDOW:
                break
            time.sleep(0.05)
        assert formed, f"the pile-up never reached {WAITERS} waiters; last: {doc['waiting']}"
        assert roots == {holder}, f"roots seen in {samples} samples: {sorted(roots)}"
        top = doc["roots"][0]
        assert top["blocked_total"] == WAITERS
        assert top["max_chain_length"] == WAITERS + 1
        assert {g["mode"] for g in top["waiting_for"]} == {"ExclusiveLock", "ShareLock"}
        assert max(sizes) <= 64 * 1024, f"/chains reached {max(sizes)} bytes"
        print(f"{samples} samples, {stale} from a stale lock snapshot, stalls "
              f"{daemon.metric('pg_lockwatch_lock_snapshot_stalls_total')}")
        assert daemon.metric("pg_lockwatch_poll_errors_total") == 0, daemon.log()
        assert down == 0, "pg_lockwatch_up was 0 in some samples"
        assert daemon.metric("pg_lockwatch_up") == 1
        # Formed, the pile-up is no news: the chain log adds nothing since.
        assert len([l for l in daemon.lines if "blocking chain" in l]) == log_lines_formed
    finally:
        holder_conn.rollback()
        holder_conn.close()
        try:
            bench.wait(timeout=120)
        finally:
            if bench.poll() is None:
                bench.kill()
        daemon.stop()
