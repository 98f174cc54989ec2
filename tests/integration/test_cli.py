"""The operator commands (check, terminate, preflight, ddl) against a real PostgreSQL:
what each prints, what it does to the sessions, and its exit code."""

import json
import os
import re
import time

import pytest

from lockwatch_harness import (FreezingProxy, alive, create_app_user, create_table, free_port,
                               run_cli,
                               run_cli_on_terminal, stage_seed_incident, start_cli, wait_for,
                               wait_ready, write_config)



def wait_until_older_than(cluster, pid, seconds):
    """Waits until the server says `pid`'s transaction is older than `seconds`."""
    wait_for(lambda: cluster.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND now() - xact_start > %s::interval",
        (pid, f"{seconds} seconds")), what=f"pid {pid}'s transaction to age {seconds}s")

def cli(cluster, *args, **kw):
    return run_cli(*args, dsn=cluster.dsn, **kw)


def explain(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def one_error_line(result):
    """The stderr of a failed command: exactly one line, prefixed with the program name."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pg_lockwatch: "), explain(result)
    return lines[0]


def columns_exist(cluster, table, *columns):
    rows = cluster.query("SELECT column_name FROM information_schema.columns "
                         "WHERE table_name = %s", (table,))
    return set(columns) <= {r[0] for r in rows}


# check


def test_check_draws_the_seed_incident_as_a_tree(cluster, sessions):
    user = create_app_user(cluster)
    root, alter1, alter2, reader = stage_seed_incident(cluster, sessions, user=user)

    result = cli(cluster, "check")

    assert result.returncode == 1, explain(result)
    assert result.stderr == "", "no pooler warning on the direct port"
    lines = result.stdout.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"{root} "))
    # The drawing, with the pids of the real sessions (pid columns pad to the widest).
    rel = r"on relation public\.accounts"
    expected = [
        rf"{root} +api {{7}}idle in transaction  \d+s  SELECT count\(\*\) FROM accounts",
        rf"└─ {alter1} +migrate {{3}}waiting \d+s for AccessExclusiveLock {rel}, held as "
        rf"AccessShareLock by {root}  ALTER TABLE accounts ADD COLUMN note text",
        rf"   └─ {alter2} +migrate2  waiting \d+s for AccessExclusiveLock {rel}, queued behind "
        rf"{alter1}'s AccessExclusiveLock  ALTER TABLE accounts ADD COLUMN note2 text",
        rf"      └─ {reader} +api-read  waiting \d+s for AccessShareLock {rel}, queued behind "
        rf"{alter2}'s AccessExclusiveLock  SELECT count\(\*\) FROM accounts",
    ]
    for pattern, line in zip(expected, lines[start:start + 4]):
        assert re.fullmatch(pattern, line), f"{line!r} !~ {pattern!r}\n{result.stdout}"
    assert "blocking chains: 1 root holds up 3 backend(s); longest chain 4" in result.stdout
    assert "client backends: " in result.stdout
    assert re.search(rf"^  by user: .*\b{user} \d", result.stdout, re.M), result.stdout
    idle_section = result.stdout.split("oldest idle in transaction:")[1]
    assert re.search(rf"^  {root} +{user} +api +127\.0\.0\.1 ", idle_section, re.M), result.stdout


def test_check_exits_0_when_nobody_waits(cluster, sessions):
    user = create_app_user(cluster)
    create_table(cluster, "quiet", owner=user)
    idle = sessions.idle_in_transaction("SELECT count(*) FROM quiet", "report", user)

    result = cli(cluster, "check")

    assert result.returncode == 0, explain(result)
    assert "blocking chains: none" in result.stdout
    assert re.search(rf"^  {idle} +{user} +report ", result.stdout, re.M), result.stdout


def test_check_json_wraps_the_chains_document_with_the_audit(cluster, sessions):
    user = create_app_user(cluster)
    pids = stage_seed_incident(cluster, sessions, user=user)

    result = cli(cluster, "check", "--json")

    assert result.returncode == 1, explain(result)
    doc = json.loads(result.stdout)
    chains = doc["chains"]
    assert (chains["blocked"], chains["root_blockers"], chains["max_chain_length"]) == (3, 1, 4)
    assert chains["roots"][0]["pid"] == pids[0]
    assert chains["roots"][0]["longest_chain"] == pids
    audit = doc["audit"]
    assert audit["by_state"]["idle in transaction"] >= 1
    assert audit["by_user"][user] >= 4  # a session of an earlier test may still be exiting
    idle = {s["pid"]: s for s in audit["oldest_idle_in_transaction"]}
    assert idle[pids[0]]["query"] == "SELECT count(*) FROM accounts"
    assert idle[pids[0]]["application_name"] == "api"


def test_connection_comes_from_dsn_config_or_libpq_environment(cluster, tmp_path):
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(cluster.port), "PGUSER": "postgres",
           "PGDATABASE": "postgres"}
    assert run_cli("check", env=env).returncode == 0
    config = write_config(tmp_path, f'[database]\ndsn = "{cluster.dsn}"\n')
    assert run_cli("check", "--config", config).returncode == 0
    # --dsn wins over the file, as for the daemon.
    dead = f"host=127.0.0.1 port={free_port()} user=postgres connect_timeout=2"
    assert run_cli("check", "--config", config, "--dsn", dead).returncode == 2


def test_connection_and_config_errors_are_one_line_and_exit_2(tmp_path):
    dead = f"host=127.0.0.1 port={free_port()} user=postgres connect_timeout=2"
    for args in (["check"], ["preflight", "--table", "t"], ["terminate", "--pid", "1", "--yes"],
                 ["ddl", "--sql", "SELECT 1"]):
        result = run_cli(*args, dsn=dead)
        assert result.returncode == 2, explain(result)
        assert "Connection refused" in one_error_line(result)
    assert "invalid DSN" in one_error_line(run_cli("check", dsn="nonsense"))
    broken = write_config(tmp_path, '[watch]\ninterval = "5x"\n')
    line = one_error_line(run_cli("check", "--config", broken))
    assert "pg_lockwatch.toml:2: [watch] interval" in line
    missing = run_cli("check", "--config", str(tmp_path / "absent.toml"))
    assert missing.returncode == 2 and "cannot read" in one_error_line(missing)


@pytest.mark.parametrize("args, message", [
    (["check", "--bogus"], "check: unknown option --bogus"),
    (["check", "extra"], 'check: unexpected argument "extra"'),
    (["terminate", "--yes"], "terminate: give either --pid PID or --idle-in-transaction"),
    (["terminate", "--pid", "x"], "terminate: --pid: expected a whole number"),
    (["terminate", "--pid", "5", "--only-blocking"], "cannot be combined with --pid"),
    (["preflight"], "preflight: give --table NAME, --sql \"...\" or --file F"),
    (["preflight", "--table", "t", "--lock-mode", "huge"], 'unknown lock mode "huge"'),
    (["ddl", "--sql", "x", "--lock-timeout", "0s"], "--lock-timeout must be more than 0"),
    (["ddl", "--sql", "x", "--retry-delay", "9s..1s"], "--retry-delay: the lower bound"),
    (["ddl"], 'ddl: give either --file F or --sql "..."'),
    (["nonsense"], 'unknown command "nonsense"'),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2, explain(result)
    assert message in one_error_line(result)
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["check", "terminate", "preflight", "ddl"])
def test_help_documents_each_command(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0, explain(result)
    assert result.stdout.startswith(f"usage: pg_lockwatch {command}")
    assert "Exit " in result.stdout and "--dsn" in result.stdout and "PGHOST" in result.stdout
    overview = run_cli("help")
    assert re.search(rf"^  {command} +\S", overview.stdout, re.M), overview.stdout


# terminate


def test_terminate_only_blocking_ends_the_blocker_and_spares_an_idle_bystander(cluster,
                                                                               sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    queued = sessions.conns[1:4]
    create_table(cluster, "bystander", owner=user)
    bystander = sessions.idle_in_transaction("SELECT count(*) FROM bystander", "report", user)

    result = cli(cluster, "terminate", "--idle-in-transaction", "--only-blocking", "--yes")

    assert result.returncode == 0, explain(result)
    assert re.search(rf"^  {root} +{user} +api +idle in transaction +\d+s +terminated$",
                     result.stdout, re.M), result.stdout
    assert str(bystander) not in result.stdout
    wait_for(lambda: not alive(cluster, root), what="the blocker to end")
    for conn in queued:
        wait_ready(conn)  # the ALTER TABLEs and the reader go through
    assert columns_exist(cluster, "accounts", "note", "note2")
    assert alive(cluster, bystander), "an idle transaction that blocks nobody must survive"


def test_terminate_filters_by_age_user_and_application(cluster, sessions):
    user = create_app_user(cluster)
    create_table(cluster, "filtered", owner=user)
    old = sessions.idle_in_transaction("SELECT count(*) FROM filtered", "batch", user)
    wait_until_older_than(cluster, old, 1.2)
    young = sessions.idle_in_transaction("SELECT count(*) FROM filtered", "batch", user)
    other_app = sessions.idle_in_transaction("SELECT count(*) FROM filtered", "web", user)

    result = cli(cluster, "terminate", "--idle-in-transaction", "--older-than", "1s",
                 "--user", "lw_*", "--application", "batch", "--yes", "--json")

    assert result.returncode == 0, explain(result)
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is False
    assert [(s["session"]["pid"], s["outcome"]) for s in doc["sessions"]] == [(old, "terminated")]
    wait_for(lambda: not alive(cluster, old), what="the old transaction to end")
    assert alive(cluster, young) and alive(cluster, other_app)


def test_terminate_dry_run_signals_nothing(cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)

    result = cli(cluster, "terminate", "--idle-in-transaction", "--only-blocking", "--dry-run")

    assert result.returncode == 0, explain(result)
    assert re.search(rf"^  {root} .* dry_run$", result.stdout, re.M), result.stdout
    # Nothing positive to wait for: give a signal that was wrongly sent time to land.
    time.sleep(0.3)
    assert alive(cluster, root)


def test_terminate_keeps_the_daemons_protections(cluster, sessions, tmp_path):
    root, *_ = stage_seed_incident(cluster, sessions, user="postgres")

    result = cli(cluster, "terminate", "--pid", str(root), "--yes")

    assert result.returncode == 1, explain(result)
    assert re.search(rf"^  {root} +postgres .* protected: protected user postgres$",
                     result.stdout, re.M), result.stdout
    assert alive(cluster, root)
    # [safety] of the config file decides, as for the daemon.
    lenient = write_config(tmp_path, "[safety]\nprotected_users = []\nallow_superusers = true\n")
    result = cli(cluster, "terminate", "--pid", str(root), "--yes", "--config", lenient)
    assert result.returncode == 0, explain(result)
    assert re.search(rf"^  {root} .* terminated$", result.stdout, re.M), result.stdout
    wait_for(lambda: not alive(cluster, root), what="the blocker to end")


def test_terminate_protects_pg_lockwatch_and_non_client_backends(cluster):
    walwriter = cluster.query("SELECT pid FROM pg_stat_activity "
                              "WHERE backend_type = 'walwriter'")[0][0]
    result = cli(cluster, "terminate", "--pid", str(walwriter), "--yes")
    assert result.returncode == 1, explain(result)
    assert "protected: not a client backend (walwriter)" in result.stdout


def test_terminate_unknown_pid_exits_1(cluster):
    result = cli(cluster, "terminate", "--pid", "2147483000", "--yes")
    assert result.returncode == 1, explain(result)
    assert "no session with pid 2147483000" in result.stdout


def test_terminate_without_a_terminal_needs_yes(cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)

    result = cli(cluster, "terminate", "--idle-in-transaction", input="y\n")

    assert result.returncode == 2, explain(result)
    assert "pass --yes" in one_error_line(result)
    assert alive(cluster, root)


def test_terminate_asks_on_a_terminal(cluster, sessions):
    user = create_app_user(cluster)
    root, *_ = stage_seed_incident(cluster, sessions, user=user)
    args = ["terminate", "--pid", str(root), "--dsn", cluster.dsn]

    code, output = run_cli_on_terminal(args, "n")
    assert code == 1, output
    assert "terminate 1 session? [y/N]" in output and "declined: nothing terminated" in output
    assert alive(cluster, root)

    code, output = run_cli_on_terminal(args, "y")
    assert code == 0, output
    assert re.search(rf"{root} .* terminated", output), output
    wait_for(lambda: not alive(cluster, root), what="the blocker to end")


# preflight


def test_preflight_is_not_clear_while_an_idle_transaction_has_read_the_table(cluster,
                                                                             sessions):
    user = create_app_user(cluster)
    create_table(cluster, "pf_orders", owner=user)
    reader = sessions.idle_in_transaction("SELECT count(*) FROM pf_orders", "report", user)
    reader_conn = sessions.conns[-1]

    result = cli(cluster, "preflight", "--table", "pf_orders")

    assert result.returncode == 1, explain(result)
    assert "preflight: ACCESS EXCLUSIVE on pf_orders: NOT CLEAR" in result.stdout
    assert re.search(rf"^  {reader} +pf_orders +AccessShareLock +{user} +report +idle in "
                     rf"transaction \d+s", result.stdout, re.M), result.stdout
    # Reading does not conflict with what an index build or a plain write needs.
    for mode in ("ROW EXCLUSIVE", "ShareLock", "share_update_exclusive"):
        result = cli(cluster, "preflight", "--table", "pf_orders", "--lock-mode", mode)
        assert result.returncode == 0, explain(result)

    reader_conn.commit()
    result = cli(cluster, "preflight", "--table", "pf_orders", "--table", "public.pf_orders")
    assert result.returncode == 0, explain(result)
    assert result.stdout.startswith("preflight: ACCESS EXCLUSIVE on pf_orders, public.pf_orders: "
                                    "clear")


def test_preflight_lists_queued_waiters_and_old_transactions(cluster, sessions):
    user = create_app_user(cluster)
    root, alter1, alter2, reader = stage_seed_incident(cluster, sessions, user=user)
    create_table(cluster, "elsewhere", owner=user)
    old = sessions.idle_in_transaction("SELECT count(*) FROM elsewhere", "batch", user)
    wait_until_older_than(cluster, old, 1.2)

    result = cli(cluster, "preflight", "--table", "accounts", "--max-xact-age", "1s", "--json")

    assert result.returncode == 1, explain(result)
    doc = json.loads(result.stdout)
    assert doc["clear"] is False and doc["lock_mode"] == "ACCESS EXCLUSIVE"
    assert [h["pid"] for h in doc["holders"]] == [root]
    assert doc["holders"][0]["session"]["application_name"] == "api"
    assert sorted(q["pid"] for q in doc["queued"]) == sorted([alter1, alter2, reader])
    assert {t["pid"] for t in doc["old_transactions"]} >= {root, old}
    # A table nobody touches is still not clear while transactions are too old...
    result = cli(cluster, "preflight", "--table", "elsewhere", "--max-xact-age", "1s")
    assert result.returncode == 1, explain(result)
    assert "holding a conflicting lock (1)" in result.stdout  # the batch session read it
    assert "transactions older than 1s (" in result.stdout
    # ...and the queue matters for a weaker mode: ACCESS SHARE queues behind the ALTERs.
    result = cli(cluster, "preflight", "--table", "accounts", "--lock-mode", "ACCESS SHARE",
                 "--max-xact-age", "0s")
    assert result.returncode == 1, explain(result)
    assert "holding a conflicting lock (0): none" in result.stdout
    assert "queued for a conflicting lock (2)" in result.stdout


def test_preflight_unknown_table_exits_2(cluster):
    result = cli(cluster, "preflight", "--table", "no_such_table")
    assert result.returncode == 2, explain(result)
    assert "no such table: no_such_table" in one_error_line(result)


# ddl


def test_ddl_runs_at_once_when_nothing_blocks(cluster, tmp_path):
    user = create_app_user(cluster)
    create_table(cluster, "ddl_free", owner=user)
    migration = tmp_path / "migration.sql"
    migration.write_text("ALTER TABLE ddl_free ADD COLUMN a int;\n"
                         "ALTER TABLE ddl_free ADD COLUMN b int;\n")

    result = cli(cluster, "ddl", "--file", str(migration))

    assert result.returncode == 0, explain(result)
    assert re.search(r"^attempt 1: done in \d+ms$", result.stdout, re.M), result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("done after 1 attempt in ")
    assert columns_exist(cluster, "ddl_free", "a", "b")


def test_ddl_retries_until_the_blocker_goes_away(cluster, sessions):
    user = create_app_user(cluster)
    create_table(cluster, "ddl_wait", owner=user)
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM ddl_wait", "api", user)
    blocker_conn = sessions.conns[-1]

    proc = start_cli("ddl", "--sql", "ALTER TABLE ddl_wait ADD COLUMN late int",
                     "--lock-timeout", "1s", "--retries", "30", "--retry-delay", "200ms..500ms",
                     dsn=cluster.dsn)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("attempt 2: "):
                break
        blocker_conn.commit()  # the blocker goes away mid-retry
        lines += proc.stdout.read().splitlines()
        code = proc.wait(60)
    finally:
        proc.kill()
    output = "\n".join(lines)

    assert code == 0, output + proc.stderr.read()
    ddl_pid = int(re.search(r"^ddl: session pid (\d+),", output, re.M).group(1))
    # While it waits, the chain in front of it is shown: the blocker, then this DDL.
    assert re.search(rf"^attempt 1: waiting \d+s for a lock behind:\n"
                     rf"  {blocker} +api +idle in transaction  \d+s  SELECT count\(\*\) FROM "
                     rf"ddl_wait\n  └─ {ddl_pid} +pg_lockwatch +waiting \d+s for AccessExclusiveLock "
                     rf"on relation public\.ddl_wait, held as AccessShareLock by {blocker}  "
                     rf"\(this DDL\)  ALTER TABLE ddl_wait ADD COLUMN late int$", output, re.M), output
    assert re.search(rf"^attempt 1: lock timeout after 1\.\ds \(blocked by {blocker} \(api, idle "
                     rf"in transaction \d+s: SELECT count\(\*\) FROM ddl_wait\)\)$",
                     output, re.M), output
    summary = re.search(r"^done after (\d+) attempts in ", output, re.M)
    assert summary and int(summary.group(1)) >= 2, output
    assert columns_exist(cluster, "ddl_wait", "late")


def test_ddl_gives_up_with_exit_1_when_the_blocker_stays(cluster, sessions):
    user = create_app_user(cluster)
    create_table(cluster, "ddl_stuck", owner=user)
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM ddl_stuck", "api", user)

    started = time.monotonic()
    result = cli(cluster, "ddl", "--sql", "ALTER TABLE ddl_stuck ADD COLUMN never int",
                 "--lock-timeout", "600ms", "--retries", "2", "--retry-delay", "100ms")
    elapsed = time.monotonic() - started

    assert result.returncode == 1, explain(result)
    timeouts = re.findall(rf"^attempt (\d): lock timeout after \d+ms \(blocked by {blocker} "
                          rf"\(api, idle in transaction", result.stdout, re.M)
    assert timeouts == ["1", "2", "3"], result.stdout
    assert result.stdout.count("retrying in 100ms") == 2
    assert re.search(r"^gave up after 3 attempts in ", result.stdout, re.M), result.stdout
    assert 3 * 0.6 <= elapsed < 3 * 0.6 + 10, "each attempt waits its lock_timeout, no longer"
    assert not columns_exist(cluster, "ddl_stuck", "never")
    assert alive(cluster, blocker), "ddl never ends other sessions"


def test_ddl_does_not_retry_other_errors(cluster):
    result = cli(cluster, "ddl", "--sql", "ALTER TABLE no_such_table ADD COLUMN x int")
    assert result.returncode == 2, explain(result)
    assert re.findall(r"^attempt (\d+):", result.stdout, re.M) == ["1"], result.stdout
    assert "failed on attempt 1" in result.stdout
    assert 'relation "no_such_table" does not exist' in one_error_line(result)

    result = cli(cluster, "ddl", "--sql", "ALTER TABLE ADD COLUM")
    assert result.returncode == 2, explain(result)
    assert "syntax error" in one_error_line(result)


def test_ddl_rolls_back_its_own_transaction_between_attempts(cluster, sessions, tmp_path):
    user = create_app_user(cluster)
    create_table(cluster, "ddl_tx", owner=user)
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM ddl_tx", "api", user)
    migration = tmp_path / "tx.sql"
    migration.write_text("BEGIN;\nALTER TABLE ddl_tx ADD COLUMN one int;\nCOMMIT;\n")

    result = cli(cluster, "ddl", "--file", str(migration), "--lock-timeout", "300ms",
                 "--retries", "1", "--retry-delay", "100ms")

    assert result.returncode == 1, explain(result)
    assert result.stdout.count("lock timeout after") == 2, result.stdout
    assert alive(cluster, blocker)


def test_ddl_lock_timeout_holds_when_the_sql_turns_it_off(cluster, sessions, tmp_path):
    user = create_app_user(cluster)
    create_table(cluster, "ddl_sneaky", owner=user)
    blocker = sessions.idle_in_transaction("SELECT count(*) FROM ddl_sneaky", "api", user)
    migration = tmp_path / "sneaky.sql"
    migration.write_text("SET lock_timeout = 0;\nALTER TABLE ddl_sneaky ADD COLUMN c int;\n")

    started = time.monotonic()
    result = cli(cluster, "ddl", "--file", str(migration), "--lock-timeout", "1s",
                 "--retries", "1", "--retry-delay", "100ms", timeout=40)
    elapsed = time.monotonic() - started

    assert result.returncode == 1, explain(result)
    assert re.findall(r"^attempt (\d): lock timeout after ", result.stdout, re.M) == ["1", "2"], \
        result.stdout
    assert elapsed < 2 * (1 + 2) + 5, "each attempt waits about its lock_timeout, no longer"
    assert not columns_exist(cluster, "ddl_sneaky", "c")
    assert alive(cluster, blocker)
    # The queue behind the blocker is free again: nothing of the DDL's is left waiting.
    assert not cluster.query("SELECT 1 FROM pg_stat_activity WHERE application_name = "
                             "'pg_lockwatch' AND wait_event_type = 'Lock'")


def test_ddl_file_errors_exit_2(cluster, tmp_path):
    result = cli(cluster, "ddl", "--file", str(tmp_path / "absent.sql"))
    assert result.returncode == 2 and "absent.sql" in one_error_line(result)
    empty = tmp_path / "empty.sql"
    empty.write_text("\n;\n")
    result = cli(cluster, "ddl", "--file", str(empty))
    assert result.returncode == 2 and "no SQL in" in one_error_line(result)


# A server that accepts the connection and then stops answering (a TCP proxy that stops
# forwarding at the named bytes): every command gives up after its deadline, with one line.
FAST = '[watch]\nstatement_timeout = "500ms"\nconnect_timeout = "2s"\n'


@pytest.mark.parametrize("command,step", [
    (["check"], b"SET search_path"),
    (["check"], b"pg_stat_get_activity(NULL)"),
    (["preflight", "--table", "pg_class"], b"inet_server_port"),
    (["terminate", "--idle-in-transaction", "--dry-run"], b"pg_stat_get_activity(NULL)"),
    (["ddl", "--sql", "SELECT 1"], b"SET search_path"),
], ids=lambda v: v.decode().split("(")[0] if isinstance(v, bytes) else v[0])
def test_commands_give_up_on_a_frozen_server(cluster, tmp_path, command, step):
    config = write_config(tmp_path, FAST)
    proxy = FreezingProxy(cluster, step)
    try:
        started = time.monotonic()
        # The proxy's port is not the server's: terminate and ddl need --allow-pooler.
        pooler = ["--allow-pooler"] if command[0] in ("ddl", "terminate") else []
        result = run_cli(*command, "--config", config, *pooler, dsn=proxy.dsn, timeout=30)
        elapsed = time.monotonic() - started
        assert proxy.frozen >= 1, "the freeze was staged"
        assert result.returncode == 2, explain(result)
        # One error line, after the proxy's pooler warning where the check got that far.
        *warnings, line = result.stderr.splitlines()
        assert all(w.startswith("pg_lockwatch: warning: ") for w in warnings), explain(result)
        assert line.startswith(f"pg_lockwatch: {command[0]}: no answer from the server "
                               "within "), explain(result)
        assert elapsed < 10, f"gave up after {elapsed:.1f}s"
    finally:
        proxy.close()
