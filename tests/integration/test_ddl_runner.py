"""pg_lockwatch ddl on a real PostgreSQL: deadlocks retried like lock timeouts, the
--max-wait budget, the INVALID index a failed CREATE INDEX CONCURRENTLY leaves, Ctrl-C
cancelling the statement on the server, and no warnings from its own ROLLBACKs."""

import os
import re
import signal
import time

from lockwatch_harness import (alive, create_table, run_cli, start_cli, wait_for, wait_ready)


def cli(cluster, *args, **kw):
    return run_cli(*args, dsn=cluster.dsn, **kw)


def explain(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def waiting(cluster, pid):
    return bool(cluster.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s "
                              "AND wait_event_type = 'Lock'", (pid,)))


def read_until(proc, pattern, lines):
    """Reads the process's stdout into `lines` until a line matches; returns the match."""
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(lines))


def index_valid(cluster, index):
    rows = cluster.query("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                         (index,))
    return rows[0][0] if rows else None


def test_a_deadlock_is_retried_like_a_lock_timeout(cluster, sessions):
    create_table(cluster, "dl_a")
    create_table(cluster, "dl_b")
    other = cluster.connect("other", async_=True)
    wait_ready(other)
    sessions.conns.append(other)
    cur = other.cursor()
    sessions.cursors.append(cur)
    # A long deadlock_timeout for it, so that PostgreSQL ends the DDL, not this session.
    cur.execute("SET deadlock_timeout = '30s'; BEGIN; SELECT count(*) FROM dl_b")
    wait_ready(other)
    proc = start_cli("ddl", "--sql", "BEGIN; ALTER TABLE dl_a ADD COLUMN x int; "
                                     "ALTER TABLE dl_b ADD COLUMN y int; COMMIT",
                     "--lock-timeout", "20s", "--retry-delay", "100ms", dsn=cluster.dsn)
    lines = []
    try:
        ddl_pid = int(read_until(proc, r"^ddl: session pid (\d+)", lines).group(1))
        wait_for(lambda: waiting(cluster, ddl_pid), what="the DDL to wait behind the reader")
        # The reader now wants what the DDL holds: a cycle, which the DDL's own deadlock
        # check finds after deadlock_timeout (1s).
        cur.execute("SELECT count(*) FROM dl_a")
        read_until(proc, r"^attempt 1: deadlock after", lines)
        wait_ready(other)  # it got dl_a once the DDL rolled back
        cur.execute("COMMIT")
        wait_ready(other)
        lines += proc.stdout.read().splitlines()
        code = proc.wait(60)
    finally:
        proc.kill()
    output = "\n".join(lines)
    assert code == 0, output + proc.stderr.read()
    assert re.search(r"^attempt 1: deadlock after \d\.\ds, PostgreSQL chose this DDL to end",
                     output, re.M), output
    assert "retrying in 100ms" in output
    assert re.search(r"^attempt 2: done in ", output, re.M), output
    assert cluster.query("SELECT count(*) FROM information_schema.columns WHERE "
                         "(table_name, column_name) IN (('dl_a', 'x'), ('dl_b', 'y'))") == [(2,)]


def test_max_wait_bounds_the_whole_run(cluster, sessions):
    create_table(cluster, "budget")
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM budget", "api")

    started = time.monotonic()
    result = cli(cluster, "ddl", "--sql", "ALTER TABLE budget ADD COLUMN never int",
                 "--lock-timeout", "1s", "--retries", "1000", "--retry-delay", "300ms",
                 "--max-wait", "2500ms")
    elapsed = time.monotonic() - started

    assert result.returncode == 1, explain(result)
    assert "lock_timeout 1s, up to 1001 attempts within 2s500ms" in result.stdout
    assert "stopping: the --max-wait budget of 2s500ms is spent" in result.stdout
    took = re.findall(r"^attempt \d+: lock timeout after (\d+)ms|^attempt \d+: lock timeout "
                      r"after (\d+\.\d)s", result.stdout, re.M)
    assert len(took) >= 3, result.stdout
    # The attempts' waits fit the budget: the last one is cut short.
    waited = sum(int(ms) / 1000 if ms else float(s) for ms, s in took)
    assert waited <= 2.5 + 0.1 * len(took), result.stdout
    assert re.search(r"^retrying in (\d+)ms$", result.stdout, re.M), "a pause cut to fit"
    assert elapsed < 2.5 + 3, f"{elapsed:.1f}s for a 2.5s budget"
    assert alive(cluster, blocker)


def test_a_failed_concurrent_index_build_is_detected_and_dropped_with_drop_invalid(cluster,
                                                                                 sessions):
    create_table(cluster, "cic")
    writer = sessions.idle_in_transaction("INSERT INTO cic VALUES (100, 1)", "api")
    build = ["ddl", "--sql", "CREATE INDEX CONCURRENTLY cic_balance ON cic (balance)",
             "--lock-timeout", "500ms", "--retries", "3", "--retry-delay", "100ms"]

    result = cli(cluster, *build)

    # CREATE INDEX CONCURRENTLY waits for the writer's transaction, times out, and leaves
    # the index behind, INVALID: retrying would only fail on it.
    assert result.returncode == 1, explain(result)
    assert re.search(r"^attempt 1: lock timeout after ", result.stdout, re.M), result.stdout
    assert "attempt 1: CREATE INDEX CONCURRENTLY left the INVALID index cic_balance behind" \
        in result.stdout
    assert "run again with --drop-invalid" in result.stdout
    assert "attempt 2:" not in result.stdout
    assert index_valid(cluster, "cic_balance") is False

    # Run again: the earlier run's INVALID index is refused up front...
    result = cli(cluster, *build)
    assert result.returncode == 2, explain(result)
    assert "index cic_balance exists and is INVALID" in result.stderr
    # ...or, with --drop-invalid, dropped before the build.
    sessions.conns[-1].commit()
    result = cli(cluster, *build, "--drop-invalid")
    assert result.returncode == 0, explain(result)
    assert result.stdout.splitlines()[1:3] == [
        "attempt 1: dropped the INVALID index cic_balance (DROP INDEX CONCURRENTLY)",
        "attempt 1: done in " + result.stdout.split("attempt 1: done in ")[1].split("\n")[0]]
    assert index_valid(cluster, "cic_balance") is True

    # In one run: the build fails and leaves the index; the next attempt drops it (once
    # the writer lets DROP INDEX CONCURRENTLY through) and builds it again.
    cluster.query("DROP INDEX cic_balance")
    sessions.idle_in_transaction("INSERT INTO cic VALUES (101, 1)", "api")
    proc = start_cli(*build[:-4], "--retries", "50", "--retry-delay", "200ms", "--drop-invalid",
                     dsn=cluster.dsn)
    lines = []
    try:
        read_until(proc, r"^attempt 1: CREATE INDEX CONCURRENTLY left the INVALID index "
                         r"cic_balance behind", lines)
        read_until(proc, r"^attempt 2: dropping the INVALID index cic_balance: lock timeout",
                   lines)
        sessions.conns[-1].commit()
        lines += proc.stdout.read().splitlines()
        code = proc.wait(60)
    finally:
        proc.kill()
    output = "\n".join(lines)
    assert code == 0, output
    assert re.search(r"^attempt \d+: dropped the INVALID index cic_balance", output, re.M), output
    assert re.search(r"^attempt \d+: done in ", output, re.M), output
    assert index_valid(cluster, "cic_balance") is True


def test_ctrl_c_cancels_the_waiting_statement_on_the_server(cluster, sessions):
    create_table(cluster, "cancel_me")
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM cancel_me", "api")
    proc = start_cli("ddl", "--sql", "ALTER TABLE cancel_me ADD COLUMN x int",
                     "--lock-timeout", "60s", dsn=cluster.dsn)
    lines = []
    try:
        ddl_pid = int(read_until(proc, r"^ddl: session pid (\d+)", lines).group(1))
        read_until(proc, r"^attempt 1: waiting", lines)
        assert waiting(cluster, ddl_pid)
        proc.send_signal(signal.SIGINT)
        lines += proc.stdout.read().splitlines()
        code = proc.wait(30)
    finally:
        proc.kill()
    output = "\n".join(lines)
    assert code == 1, output
    assert re.search(r"^attempt 1: interrupted after .*: the statement was cancelled on the "
                     r"server$", output, re.M), output
    assert re.search(r"^interrupted on attempt 1 in ", output, re.M), output
    # Nothing of it stays queued on the server, though the blocker is still there (without
    # the cancel, the backend would wait out its 60s lock_timeout after the client died).
    wait_for(lambda: not waiting(cluster, ddl_pid), timeout=5,
             what="the DDL's backend to stop waiting")
    assert alive(cluster, blocker)


def test_its_own_rollbacks_leave_no_warning_in_the_server_log(cluster, sessions, tmp_path):
    create_table(cluster, "quiet_rollback")
    result = cli(cluster, "ddl", "--sql", "ALTER TABLE quiet_rollback ADD COLUMN a int")
    assert result.returncode == 0, explain(result)
    pids = re.findall(r"^ddl: session pid (\d+)", result.stdout, re.M)
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM quiet_rollback", "api")
    for sql in ("ALTER TABLE quiet_rollback ADD COLUMN b int",
                "BEGIN; ALTER TABLE quiet_rollback ADD COLUMN c int; COMMIT"):
        result = cli(cluster, "ddl", "--sql", sql, "--lock-timeout", "200ms", "--retries", "1",
                     "--retry-delay", "50ms")
        assert result.returncode == 1, explain(result)
        pids += re.findall(r"^ddl: session pid (\d+)", result.stdout, re.M)
    sessions.conns[-1].rollback()
    # SQL that leaves its transaction open is rolled back and is an error.
    result = cli(cluster, "ddl", "--sql", "BEGIN; ALTER TABLE quiet_rollback ADD COLUMN d int")
    assert result.returncode == 2, explain(result)
    assert "the SQL began a transaction and did not end it" in result.stderr
    pids += re.findall(r"^ddl: session pid (\d+)", result.stdout, re.M)
    assert alive(cluster, blocker)
    log = open(os.path.join(cluster.directory, "server.log"), errors="replace").read()
    ours = [l for l in log.splitlines() if any(f"[{pid}]" in l for pid in pids)]
    assert ours, "the server logs our sessions' errors (the lock timeouts)"
    assert not [l for l in ours if "WARNING" in l], "\n".join(ours)
    assert cluster.query("SELECT count(*) FROM information_schema.columns WHERE "
                         "table_name = 'quiet_rollback' AND column_name IN ('b', 'c', 'd')") \
        == [(0,)]
