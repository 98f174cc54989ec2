"""Pooler detection through a real pgbouncer in front of the test cluster: the operator
commands warn (ddl and terminate refuse unless --allow-pooler), the daemon exports
pg_lockwatch_via_pooler 1, and on the server's own port all of it stays silent."""

import re

from lockwatch_harness import (Daemon, alive, create_app_user, create_table, run_cli,
                               stage_seed_incident, wait_for, write_config)

WARNING = "pg_lockwatch: warning: the connection goes through a pooler or proxy"


def explain(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_check_warns_through_pgbouncer_and_not_on_the_direct_port(cluster, pgbouncer):
    through = run_cli("check", dsn=pgbouncer.dsn)
    assert through.returncode == 0, explain(through)
    assert through.stderr.startswith(WARNING), explain(through)
    # The server sees pgbouncer's socket to it, not ours to pgbouncer.
    assert re.search(r"the server sees this connection come from 127\.0\.0\.1:\d+, but its "
                     r"socket here is 127\.0\.0\.1:\d+ \(something relays it", through.stderr), \
        explain(through)
    assert "client backends:" in through.stdout, "a warning, not a refusal"

    direct = run_cli("check", dsn=cluster.dsn)
    assert direct.returncode == 0, explain(direct)
    assert direct.stderr == ""


def test_preflight_warns_through_pgbouncer(cluster, pgbouncer):
    create_table(cluster, "pooled")
    result = run_cli("preflight", "--table", "pooled", "--max-xact-age", "0s",
                     dsn=pgbouncer.dsn)
    assert result.returncode == 0, explain(result)
    assert result.stderr.startswith(WARNING)


def test_ddl_and_terminate_refuse_through_pgbouncer(cluster, sessions, pgbouncer):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    create_table(cluster, "pooled_ddl", owner=user)

    for args in (["terminate", "--pid", str(root), "--yes"],
                 ["terminate", "--idle-in-transaction", "--dry-run"],
                 ["ddl", "--sql", "ALTER TABLE pooled_ddl ADD COLUMN c int"]):
        result = run_cli(*args, dsn=pgbouncer.dsn)
        assert result.returncode == 2, explain(result)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and re.match(
            rf"pg_lockwatch: {args[0]}: refusing to run through a pooler or proxy \(.*\); "
            r"connect to the server directly, or pass --allow-pooler$", lines[0]), explain(result)
        assert result.stdout == ""
    assert alive(cluster, root)
    assert not cluster.query("SELECT 1 FROM information_schema.columns "
                             "WHERE table_name = 'pooled_ddl' AND column_name = 'c'")


def test_allow_pooler_runs_with_the_warning(cluster, pgbouncer):
    create_table(cluster, "pooled_allowed")
    result = run_cli("ddl", "--sql", "ALTER TABLE pooled_allowed ADD COLUMN c int",
                     "--allow-pooler", dsn=pgbouncer.dsn)
    assert result.returncode == 0, explain(result)
    assert result.stderr.startswith(WARNING)
    assert cluster.query("SELECT 1 FROM information_schema.columns "
                         "WHERE table_name = 'pooled_allowed' AND column_name = 'c'")


def test_daemon_exports_via_pooler_through_pgbouncer(cluster, pgbouncer, start_daemon,
                                                     tmp_path):
    config = write_config(tmp_path, f'[database]\ndsn = "{pgbouncer.dsn}"\n'
                                    '[watch]\ninterval = "200ms"\n')
    daemon = Daemon(config)
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, what="a successful poll")
        assert daemon.metric("pg_lockwatch_via_pooler") == 1
        assert daemon.find(r"connection goes through a pooler or proxy: the server sees this "
                           r"connection come from "), daemon.log()
        # The watchdog's pid as the server has it, not pgbouncer's made-up cancel key.
        pid = int(daemon.find(r"watchdog backend pid (\d+)").group(1))
        assert cluster.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)), \
            daemon.log()
    finally:
        daemon.stop()

    direct = start_daemon()
    wait_for(lambda: direct.metric("pg_lockwatch_up") == 1, what="a successful poll")
    assert direct.metric("pg_lockwatch_via_pooler") == 0
    assert not direct.find("pooler or proxy")
