#!/usr/bin/env python3
"""What a poll costs, quiet and in pile-ups, measured as users pay it.

For each scenario a throwaway cluster is staged, the daemon polls it every 250ms, and over
a window the benchmark reads from /proc:
  - the watchdog backend's own utime+stime, per poll (server CPU, output and sending
    included, which EXPLAIN ANALYZE leaves out);
  - beside it, in the same run and at the same cadence, a session running
    SELECT count(*) FROM pg_stat_activity, measured the same way (the baseline);
  - the daemon's own utime+stime per poll;
and from the daemon: failed polls, /chains size, chain log lines once the pile-up formed,
RSS, /metrics latency and the number of series. Before the window, the benchmark waits out
the lock-table stall that follows a pile-up forming (PostgreSQL's deadlock detector checks
each waiter once, a deadlock_timeout after it started waiting) and reports it: how long
the lock table did not answer, the polls that failed meanwhile, and those the standby
session answered from a stale lock snapshot.

Scenarios (WAITERS each): quiet (idle-in-transaction sessions, nobody waits), hot-row (an
idle transaction updated a row; WAITERS sessions UPDATE it) and alter-queue (an idle
reader, an ALTER TABLE behind it, WAITERS readers behind the ALTER).

Usage: bench/pileup_bench.py [--waiters 1000,3000] [--window 30] [--scenarios quiet,hot,alter]
                             [--binary build/pg_lockwatch]
Needs the build (scripts/build.sh), pgbench and python3-psycopg2 (scripts/install-deps.sh --test).
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
INTERVAL = 0.25


def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Cluster:
    def __init__(self, connections):
        self.dir = tempfile.mkdtemp(prefix="lockwatch-bench-")
        os.chmod(self.dir, 0o755)
        env = {**os.environ, "PG_MAX_CONNECTIONS": str(connections)}
        out = subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "start",
                              self.dir + "/pg"], env=env, check=True, capture_output=True,
                             text=True).stdout
        self.port = int(re.search(r"PGPORT=(\d+)", out).group(1))
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        self.env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port),
                    "PGUSER": "postgres", "PGDATABASE": "postgres"}

    def connect(self, app="bench", autocommit=True):
        c = psycopg2.connect(self.dsn, application_name=app)
        c.autocommit = autocommit
        return c

    def scalar(self, sql):
        with self.connect() as c, c.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    def destroy(self):
        subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "destroy",
                        self.dir + "/pg"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


class Stage:
    """The sessions of one scenario; stop() ends them all."""

    def __init__(self, cluster, kind, waiters):
        self.cluster = cluster
        self.conns = []
        self.procs = []
        # Opened before the pile-up: while it forms, new connections can wait for seconds
        # (the deadlock detector holds the lock table), and pg_locks would wait with them.
        self.watch = cluster.connect("bench-watch")
        with cluster.connect() as c, c.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS hot (id int PRIMARY KEY, v int)")
            cur.execute("INSERT INTO hot VALUES (1, 0) ON CONFLICT DO NOTHING")
        getattr(self, kind)(waiters)

    def idle_sessions(self, count, sql):
        for _ in range(count):
            c = self.cluster.connect("idle", autocommit=False)
            c.cursor().execute(sql)
            self.conns.append(c)

    def pgbench(self, clients, sql):
        script = os.path.join(self.cluster.dir, "w.sql")
        with open(script, "w") as f:
            f.write(sql + "\n")
        self.procs.append(subprocess.Popen(["pgbench", "-n", "-c", str(clients), "-j", "2", "-t",
                                            "1", "-f", script], env=self.cluster.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def scalar(self, sql):
        with self.watch.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    def waiting(self):
        return self.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")

    def quiet(self, n):
        self.idle_sessions(n, "SELECT 1")
        wait_until(lambda: self.scalar("SELECT count(*) FROM pg_stat_activity WHERE "
                                       "state = 'idle in transaction'") >= n, 600, "idle")

    def hot(self, n):
        self.idle_sessions(1, "UPDATE hot SET v = v + 1 WHERE id = 1")
        self.pgbench(n, "UPDATE hot SET v = v + 1 WHERE id = 1;")
        wait_until(lambda: self.waiting() >= n, 600, f"{n} hot-row waiters")

    def alter(self, n):
        self.idle_sessions(1, "SELECT count(*) FROM hot")
        self.procs.append(subprocess.Popen(["psql", "-qX", "-c", "ALTER TABLE hot ADD COLUMN z int"],
                                           env=self.cluster.env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        wait_until(lambda: self.waiting() >= 1, 60, "the ALTER to queue")
        self.pgbench(n, "SELECT count(*) FROM hot;")
        wait_until(lambda: self.waiting() >= n + 1, 600, f"{n} readers behind the ALTER")

    def stop(self):
        for c in self.conns:
            c.close()
        for p in self.procs:
            p.wait(timeout=300)
        self.watch.close()


class Daemon:
    def __init__(self, binary, cluster, workdir):
        config = os.path.join(workdir, "bench.toml")
        with open(config, "w") as f:
            f.write(f'[database]\ndsn = "{cluster.dsn}"\n[watch]\ninterval = "250ms"\n')
        self.log_path = os.path.join(workdir, "daemon.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "run", "--config", config, "--listen",
                                      "127.0.0.1:0"], stdout=self.log, stderr=subprocess.STDOUT)
        self.url = wait_until(self._url, 30, "the daemon to listen")
        self.backend = wait_until(lambda: self._logged(r"watchdog backend pid (\d+)"), 30,
                                  "the daemon's session")

    def _logged(self, pattern):
        m = re.findall(pattern, open(self.log_path).read())
        return int(m[-1]) if m else None

    def backends(self):
        """The watchdog's sessions: the one that polls and, if it is up, the standby."""
        standby = self._logged(r"standby session ready \(backend pid (\d+)\)")
        return [self.backend] + ([standby] if standby else [])

    def _url(self):
        m = re.search(r"(http://[\d.]+:\d+)/metrics", open(self.log_path).read())
        return m.group(1) if m else None

    def get(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:  # /chains answers 503 while polls fail
            return e.read().decode()

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        return None

    def chain_lines(self):
        return sum("blocking chain" in l for l in open(self.log_path))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def settle_after_stage(daemon, timeout=1800):
    """Waits out what follows a pile-up forming: PostgreSQL's deadlock detector checks each
    waiter a deadlock_timeout after it started waiting, holding the lock table each time
    (the daemon's standby session polls meanwhile). Settled: five seconds of polls in a row
    from a fresh lock snapshot. Returns how long the lock table stalled and what the daemon
    did meanwhile (failed polls, polls from a stale snapshot)."""
    started = time.monotonic()
    errors0 = daemon.metric("pg_lockwatch_poll_errors_total") or 0
    stale = 0
    fresh_since = None
    last_stale = None
    while time.monotonic() - started < timeout:
        age = daemon.metric("pg_lockwatch_lock_snapshot_age_seconds")
        up = daemon.metric("pg_lockwatch_up")
        now = time.monotonic()
        if up == 1 and not age:
            fresh_since = fresh_since or now
            if now - fresh_since >= 5:
                break
        else:
            fresh_since = None
            last_stale = now
            stale += 1
        time.sleep(0.25)
    return {"stall": (last_stale - started) if last_stale else 0.0, "stale": stale,
            "failed": int((daemon.metric("pg_lockwatch_poll_errors_total") or 0) - errors0)}


class Baseline(threading.Thread):
    """SELECT count(*) FROM pg_stat_activity every 250ms, like a poll."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.conn = cluster.connect("baseline")
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pid = cur.fetchone()[0]
        self.runs = 0
        self.stopping = threading.Event()

    def run(self):
        with self.conn.cursor() as cur:
            # Prepared, as the daemon's poll is: neither pays for parsing and planning.
            cur.execute("PREPARE baseline AS SELECT count(*) FROM pg_stat_activity")
            while not self.stopping.wait(INTERVAL):
                cur.execute("EXECUTE baseline")
                cur.fetchall()
                self.runs += 1


def tail(path, lines=15):
    try:
        return "".join(open(path, errors="replace").readlines()[-lines:])
    except OSError:
        return "(none)"


def measure(binary, kind, waiters, window):
    cluster = Cluster(waiters + 150)
    work = tempfile.mkdtemp(prefix="lockwatch-bench-run-")
    stage = daemon = baseline = None
    try:
        return measure_on(binary, kind, waiters, window, cluster, work)
    except Exception:
        print(f"{kind} {waiters} failed; daemon log:\n{tail(os.path.join(work, 'daemon.log'))}"
              f"server log:\n{tail(os.path.join(cluster.dir, 'pg', 'server.log'))}",
              file=sys.stderr)
        raise
    finally:
        cluster.destroy()
        if os.environ.get("LOCKWATCH_BENCH_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure_on(binary, kind, waiters, window, cluster, work):
    stage = daemon = baseline = None
    try:
        # The daemon and the baseline connect first, as in an incident: a pile-up forming
        # can keep new logins waiting for minutes.
        daemon = Daemon(binary, cluster, work)
        baseline = Baseline(cluster)
        baseline.start()
        stage = Stage(cluster, kind, waiters)
        settle = settle_after_stage(daemon)
        polls0, errors0 = daemon.metric("pg_lockwatch_polls_total"), daemon.metric(
            "pg_lockwatch_poll_errors_total")
        lines0 = daemon.chain_lines()
        sessions = daemon.backends()
        server_ticks = lambda: sum(ticks(pid) for pid in sessions)
        server0, daemon0, base0, runs0 = (server_ticks(), ticks(daemon.proc.pid),
                                          ticks(baseline.pid), baseline.runs)
        time.sleep(window)
        server1, daemon1, base1, runs1 = (server_ticks(), ticks(daemon.proc.pid),
                                          ticks(baseline.pid), baseline.runs)
        polls = daemon.metric("pg_lockwatch_polls_total") - polls0
        errors = daemon.metric("pg_lockwatch_poll_errors_total") - errors0
        chains = daemon.get("/chains")
        latencies = []
        for _ in range(100):
            t = time.perf_counter()
            daemon.get("/metrics")
            latencies.append(time.perf_counter() - t)
        latencies.sort()
        series = sum(1 for l in daemon.get("/metrics").splitlines()
                     if l.startswith("pg_lockwatch_"))
        per = lambda t0, t1, n: 1000.0 * (t1 - t0) / HZ / max(n, 1)
        result = {
            "scenario": kind, "waiters": waiters if kind != "quiet" else 0,
            "stall_s": settle["stall"], "stall_failed": settle["failed"],
            "stall_stale_polls": settle["stale"],
            "backends": stage.scalar("SELECT count(*) FROM pg_stat_activity"),
            "polls": int(polls), "failed": int(errors),
            "server_ms": per(server0, server1, polls), "baseline_ms": per(base0, base1, runs1 - runs0),
            "daemon_ms": per(daemon0, daemon1, polls),
            "chains_bytes": len(chains), "chain_log_lines": daemon.chain_lines() - lines0,
            "roots": json.loads(chains).get("root_blockers", "-"),
            "rss_mb": rss_mb(daemon.proc.pid),
            "metrics_p99_ms": 1000 * latencies[98], "series": series,
        }
        return result
    finally:
        if baseline:
            baseline.stopping.set()
            baseline.join()
            baseline.conn.close()
        if daemon:
            daemon.stop()
        if stage:
            stage.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--waiters", default="1000,3000")
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--quiet-window", type=float, default=60.0,
                   help="the quiet poll is cheap: a longer window for the same precision")
    p.add_argument("--scenarios", default="quiet,hot,alter")
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "pg_lockwatch"))
    args = p.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no binary at {args.binary}: build first (scripts/build.sh)")
    counts = [int(n) for n in args.waiters.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, max(counts) * 2 + 500)), hard))
    print(f"binary {args.binary}, window {args.window:.0f}s, polls every {INTERVAL * 1000:.0f}ms")
    header = ("scenario", "waiters", "backends", "stall_s", "stall_failed", "stall_stale_polls",
              "polls", "failed", "server_ms", "baseline_ms", "ratio", "vs_quiet", "daemon_ms",
              "chains_bytes", "chain_log_lines", "roots", "rss_mb", "metrics_p99_ms", "series")
    print(" | ".join(header))
    quiet_ms = None
    for kind in args.scenarios.split(","):
        for n in (counts[:1] if kind == "quiet" else counts):
            r = measure(args.binary, kind, n, args.quiet_window if kind == "quiet" else args.window)
            r["ratio"] = r["server_ms"] / r["baseline_ms"] if r["baseline_ms"] else float("nan")
            if kind == "quiet":
                quiet_ms = r["server_ms"]
            # The target: a pile-up poll costs at most 3x a quiet poll at the same
            # backend count (run quiet first; its backends match the first WAITERS).
            r["vs_quiet"] = r["server_ms"] / quiet_ms if quiet_ms else float("nan")
            print(" | ".join(f"{r[h]:.2f}" if isinstance(r[h], float) else str(r[h])
                             for h in header), flush=True)


if __name__ == "__main__":
    main()
