"""Faults a watchdog meets in an incident, on a real PostgreSQL. In each the daemon stays
up, reports truthfully (pg_lockwatch_up, /healthz, errors counted) and recovers by itself.
Recovery times are printed (pytest -s) and recorded in docs/RELIABILITY.md."""

import os
import signal
import subprocess
import time

import psycopg2
import pytest

from lockwatch_harness import FreezingProxy, create_app_user, wait_for, write_config

WATCH = '[watch]\ninterval = "200ms"\nstatement_timeout = "500ms"\nconnect_timeout = "2s"\n'


def report(what, seconds):
    line = f"{what}: {seconds:.2f}s"
    print(line)
    path = os.environ.get("LOCKWATCH_FAULT_TIMINGS")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def server_processes(cluster):
    """The postmaster and all its children."""
    with open(os.path.join(cluster.directory, "data", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                              text=True).stdout.split()
    return [postmaster] + [int(p) for p in children]


def signal_server(cluster, sig):
    for pid in server_processes(cluster):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def gone(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True


def kill_server(cluster):
    """SIGKILL for the whole server, as the OOM killer or a host crash would: stop the
    postmaster first so it forks nothing new, then kill every process of it."""
    postmaster = server_processes(cluster)[0]
    os.kill(postmaster, signal.SIGSTOP)
    victims = server_processes(cluster)
    for pid in reversed(victims):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(gone(pid) for pid in victims), what="the server's processes to die")


def recovery_time(daemon, what):
    """Seconds until pg_lockwatch_up is 1 again, measured from now."""
    started = time.monotonic()
    wait_for(lambda: daemon.metric("pg_lockwatch_up") == 1, timeout=30, interval=0.05,
             what="up to return")
    elapsed = time.monotonic() - started
    report(what, elapsed)
    assert daemon.proc.poll() is None
    return elapsed


def cluster_admin_terminate(cluster):
    """Terminates the daemon's backend (over a superuser-reserved slot)."""
    cluster.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE application_name = 'pg_lockwatch'")


def polls_stalled(daemon, window=0.5):
    before = daemon.metric("pg_lockwatch_polls_total")
    time.sleep(window)  # the observation window, not synchronisation
    return daemon.metric("pg_lockwatch_polls_total") == before


def errors(daemon):
    return daemon.metric("pg_lockwatch_poll_errors_total")


@pytest.fixture
def daemon(start_daemon):
    d = start_daemon(WATCH)
    wait_for(lambda: d.metric("pg_lockwatch_up") == 1, what="up")
    return d


def test_immediate_shutdown_mid_poll(daemon, cluster):
    before = errors(daemon)
    cluster.stop()  # -m immediate
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_up") == 0, what="up to drop")
        wait_for(lambda: daemon.get("/healthz", timeout=2)[0] == 503, what="healthz 503")
    finally:
        cluster.start()
    recovery_time(daemon, "immediate shutdown, restart: up again after server start")
    assert errors(daemon) > before


def test_server_killed_with_sigkill(daemon, cluster):
    kill_server(cluster)
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_up") == 0, what="up to drop")
    finally:
        cluster.start()
    recovery_time(daemon, "SIGKILL of postmaster and backends: up again after server start")


def test_frozen_server_hits_the_deadline_and_http_stays_responsive(daemon, cluster):
    before = errors(daemon)
    signal_server(cluster, signal.SIGSTOP)
    frozen_at = time.monotonic()
    try:
        wait_for(lambda: daemon.metric("pg_lockwatch_up") == 0, timeout=10, what="up to drop")
        report("frozen server: poll deadline detected the hang after",
               time.monotonic() - frozen_at)
        assert daemon.find("poll exceeded its deadline")
        for _ in range(5):  # HTTP answers at once while a poll hangs
            started = time.monotonic()
            status, _ = daemon.get("/healthz", timeout=2)
            assert time.monotonic() - started < 1.0
        wait_for(lambda: daemon.get("/healthz", timeout=2)[0] == 503, what="healthz 503")
        assert errors(daemon) > before
    finally:
        signal_server(cluster, signal.SIGCONT)
    recovery_time(daemon, "frozen server (SIGSTOP): up again after SIGCONT")


def test_own_backend_terminated_by_someone_else(daemon, cluster):
    before = errors(daemon)
    killed = cluster.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'pg_lockwatch'")
    assert killed == [(True,)]
    wait_for(lambda: errors(daemon) > before, what="the failed poll to be counted")
    recovery_time(daemon, "own backend terminated: up again after")
    assert daemon.find(r"connected to PostgreSQL .*") and len(
        [l for l in daemon.lines if "connected to PostgreSQL" in l]) >= 2


def test_max_connections_exhausted_when_it_reconnects(start_daemon, cluster):
    user = create_app_user(cluster)
    # The daemon connects as a plain role, as in production: no reserved superuser slots.
    d = start_daemon(WATCH, extra_args=["--dsn", cluster.dsn.replace("user=postgres", f"user={user}")])
    wait_for(lambda: d.metric("pg_lockwatch_up") == 1, what="up")
    hogs = []

    def fill_free_slots(keep_trying=0.0):
        """Connects until refused; with keep_trying, retries refusals for that long (the
        slot of a backend being terminated frees a moment after the signal)."""
        until = time.monotonic() + keep_trying
        while True:
            try:
                hogs.append(cluster.connect("hog", user=user))
            except psycopg2.OperationalError as e:
                assert "too many clients" in str(e) or "remaining connection slots" in str(e)
                if time.monotonic() >= until:
                    return

    try:
        fill_free_slots()
        # Cut the daemon's session and take its slot before its reconnect (backoff >= 250ms)
        # can; repeat in the unlikely case it wins the race.
        for _ in range(5):
            cluster_admin_terminate(cluster)
            fill_free_slots(keep_trying=0.2)
            if d.find("too many clients|remaining connection slots"):
                break
        wait_for(lambda: d.find("too many clients|remaining connection slots"),
                 what="the reconnect error")
        assert d.metric("pg_lockwatch_up") == 0
        # HTTP still answers, and tells the truth once three intervals pass without a poll.
        wait_for(lambda: d.get("/healthz")[0] == 503, what="healthz 503")
    finally:
        for conn in hogs:
            conn.close()
    recovery_time(d, "max_connections exhausted: up again after connections freed")


def test_sighup_storm_and_garbage_config_keep_the_last_good_config(daemon, tmp_path):
    path = os.path.join(str(tmp_path), "pg_lockwatch.toml")
    good = open(path).read()
    for i in range(50):
        write_config(tmp_path, good if i % 2 else "\x00garbage [[[ = \n")
        daemon.signal(signal.SIGHUP)
    write_config(tmp_path, "this is not toml at all ]]]\n")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: len([l for l in daemon.lines if "config reload failed" in l]) >= 2,
             what="reload errors")
    polls = daemon.metric("pg_lockwatch_polls_total")
    wait_for(lambda: daemon.metric("pg_lockwatch_polls_total") >= polls + 5, what="more polls")
    assert daemon.metric("pg_lockwatch_up") == 1
    assert daemon.proc.poll() is None


def test_sigterm_during_a_hung_poll_exits_cleanly(daemon, cluster):
    signal_server(cluster, signal.SIGSTOP)
    try:
        # A poll is hung once polls_total stops moving for longer than two intervals
        # (the deadline, 1.5 s here, has not fired yet).
        wait_for(lambda: polls_stalled(daemon), timeout=5, what="a poll to hang")
        started = time.monotonic()
        code = daemon.stop(timeout=15)
        elapsed = time.monotonic() - started
        report("SIGTERM while a poll hangs on a frozen server: exit after", elapsed)
        assert code == 0
        assert elapsed < 5
    finally:
        signal_server(cluster, signal.SIGCONT)


# A server that accepts the connection and then stops answering, staged with a TCP proxy
# that stops forwarding once the client sends the named bytes: during the session's SETs,
# its pooler check, its server_version query.
SET_UP_STEPS = [b"SET search_path", b"inet_server_port", b"current_setting('server_version')"]


@pytest.mark.parametrize("step", SET_UP_STEPS, ids=lambda s: s.decode().split("(")[0])
def test_server_frozen_during_set_up_is_cut_off_by_the_deadline(start_daemon, cluster, step):
    proxy = FreezingProxy(cluster, step, frozen_connections=1)
    try:
        daemon = start_daemon(WATCH, extra_args=["--dsn", proxy.dsn])
        wait_for(lambda: proxy.frozen == 1, what="the set-up to freeze")
        wait_for(lambda: daemon.find("poll exceeded its deadline"), timeout=10,
                 what="the deadline")
        # The deadline cut the frozen session off; the next connection is not frozen.
        recovery_time(daemon, f"server frozen at {step.decode()}: up again after the deadline")
        assert proxy.accepted >= 2
    finally:
        proxy.close()


def test_sigterm_while_set_up_hangs_exits_at_once(start_daemon, cluster):
    proxy = FreezingProxy(cluster, b"SET search_path")
    try:
        daemon = start_daemon(WATCH, extra_args=["--dsn", proxy.dsn])
        wait_for(lambda: proxy.frozen == 1, what="the set-up to freeze")
        started = time.monotonic()
        code = daemon.stop(timeout=15)
        elapsed = time.monotonic() - started
        report("SIGTERM while the session's set-up hangs: exit after", elapsed)
        assert code == 0, daemon.log()
        assert elapsed < 2.5, "the worker was cut off, not waited for"
        assert not daemon.find("did not stop")
    finally:
        proxy.close()


def test_an_exit_forced_by_a_stuck_worker_is_not_exit_0(start_daemon, cluster):
    # libpq cannot be interrupted while it connects: four addresses that each accept and
    # then say nothing keep it there for 4 x connect_timeout (2 s), past the stop grace.
    proxy = FreezingProxy(cluster, b"")
    try:
        hosts = ",".join(["127.0.0.1"] * 4)
        ports = ",".join([str(proxy.port)] * 4)
        daemon = start_daemon(WATCH, extra_args=[
            "--dsn", f"host={hosts} port={ports} user=postgres dbname=postgres"])
        wait_for(lambda: proxy.frozen >= 1, what="the connect to hang")
        code = daemon.stop(timeout=15)
        assert daemon.find("poll worker did not stop"), daemon.log()
        assert code not in (0, None) and code > 0, f"exit {code}"
    finally:
        proxy.close()
