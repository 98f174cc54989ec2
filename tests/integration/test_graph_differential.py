"""Differential test of the wait-for graph on the real server.

A seeded random generator opens sessions that take table locks in all eight modes, row
locks (FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, UPDATE), advisory locks and
prepared transactions, one statement at a time, each either finishing or waiting before
the next starts. Once the waits are stable, for every waiter the set of sessions that
transitively hold it up according to pg_lockwatch (`check --json`, every waiter listed)
must equal the transitive closure of pg_blocking_pids(). A failing scenario prints its
seed; add it to REGRESSIONS.

The scenario sessions set deadlock_timeout to an hour: after deadlock_timeout PostgreSQL's
deadlock detector may reorder a wait queue to resolve a soft deadlock, which no view shows
(docs/ARCHITECTURE.md, "Queue order"). A hard deadlock then stays in place, as a cycle
both sides must report, until the scenario cancels it.

LOCKWATCH_DIFF_SCENARIOS (default 200) and LOCKWATCH_DIFF_SEED choose the run."""

import json
import os
import random
import select
import subprocess
import time

import psycopg2
import psycopg2.extensions

from lockwatch_harness import BINARY, wait_for

SCENARIOS = int(os.environ.get("LOCKWATCH_DIFF_SCENARIOS", "200"))
SEED = int(os.environ.get("LOCKWATCH_DIFF_SEED", "20261203"))
REGRESSIONS = []  # seeds of scenarios that once failed
SESSIONS = 8
TABLES = ["dg_t0", "dg_t1"]
MODES = ["ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
         "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"]
ROW_LOCKS = ["UPDATE", "NO KEY UPDATE", "SHARE", "KEY SHARE"]


def statement(rng):
    kind = rng.choice(["table", "table", "row", "row", "update", "advisory", "read"])
    if kind == "table":
        return f"LOCK TABLE {rng.choice(TABLES)} IN {rng.choice(MODES)} MODE"
    if kind == "row":
        return f"SELECT 1 FROM dg_rows WHERE id = {rng.randint(1, 2)} FOR {rng.choice(ROW_LOCKS)}"
    if kind == "update":
        return f"UPDATE dg_rows SET v = v + 1 WHERE id = {rng.randint(1, 2)}"
    if kind == "advisory":
        shared = rng.choice(["", "_shared"])
        return f"SELECT pg_advisory_xact_lock{shared}({rng.randint(1, 2)})"
    return f"SELECT count(*) FROM {rng.choice(TABLES)}"


class Session:
    """One async connection of the scenario: idle, in a transaction, or waiting."""

    def __init__(self, cluster):
        self.conn = psycopg2.connect(cluster.dsn, application_name="diff", async_=True)
        self._wait()
        self.pid = self.conn.get_backend_pid()
        self.cursor = None
        self.run("SET deadlock_timeout = '1h'")
        self.run("SET max_parallel_workers_per_gather = 0")
        self.in_transaction = False
        self.waiting = False
        self.aborted = False

    def _wait(self):
        while True:
            state = self.conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            fd = [self.conn.fileno()]
            select.select(fd if state == psycopg2.extensions.POLL_READ else [],
                          fd if state == psycopg2.extensions.POLL_WRITE else [], [], 5)

    def run(self, sql):
        """Runs `sql` to completion (it must not wait for a lock)."""
        self.cursor = self.conn.cursor()
        self.cursor.execute(sql)
        self._wait()

    def start(self, sql, probe):
        """Starts `sql`; returns once it finished, failed, or waits for a lock."""
        self.cursor = self.conn.cursor()
        self.cursor.execute(sql)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.settle():
                return
            if probe(self.pid):
                self.waiting = True
                return
            time.sleep(0.002)
        raise AssertionError(f"{sql!r} on {self.pid} neither finished nor waited for a lock")

    def settle(self):
        """True when the running statement is over (done or failed)."""
        try:
            if self.conn.poll() != psycopg2.extensions.POLL_OK:
                return False
        except psycopg2.Error:
            self.aborted = True  # e.g. a deadlock found on entering the queue
        self.waiting = False
        return True


class Probe:
    """One connection of the test's own, for looking at pg_locks between steps."""

    def __init__(self, cluster):
        self.dsn = cluster.dsn
        self.conn = cluster.connect("diff-probe")

    def query(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None


class Scenario:
    def __init__(self, cluster, sessions, seed):
        self.cluster = cluster
        self.sessions = sessions
        self.rng = random.Random(seed)
        self.seed = seed
        self.prepared = []
        self.log = []

    def waits(self, pid):
        return bool(self.cluster.query(
            "SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted AND waitstart IS NOT NULL",
            (pid,)))

    def step(self):
        for s in self.sessions:
            if s.waiting:
                s.settle()
        free = [s for s in self.sessions if not s.waiting and not s.aborted]
        if not free:
            return
        s = self.rng.choice(free)
        if s.in_transaction and self.rng.random() < 0.1:
            gid = f"dg_{self.seed}_{len(self.prepared)}"
            s.run(f"PREPARE TRANSACTION '{gid}'")
            self.prepared.append(gid)
            self.log.append(f"{s.pid}: PREPARE TRANSACTION '{gid}'")
            s.in_transaction = False
            return
        if not s.in_transaction:
            s.run("BEGIN")
            s.in_transaction = True
        sql = statement(self.rng)
        self.log.append(f"{s.pid}: {sql}")
        s.start(sql, self.waits)

    def cleanup(self):
        for _ in range(20):
            waiting = [s for s in self.sessions if s.waiting and not s.settle()]
            if not waiting:
                break
            for s in waiting:
                self.cluster.query("SELECT pg_cancel_backend(%s)", (s.pid,))
            wait_for(lambda: all(s.settle() for s in waiting), timeout=10,
                     what="cancelled statements to end")
        for s in self.sessions:
            s.run("ROLLBACK")
            s.in_transaction = s.waiting = s.aborted = False
        for gid in self.prepared:
            self.cluster.query(f"ROLLBACK PREPARED '{gid}'")


def lock_state(cluster):
    """What must not change between the two views: every non-fastpath lock entry."""
    return cluster.query(
        "SELECT locktype, database, relation, page, tuple, virtualxid, transactionid::text, "
        "classid, objid, objsubid, virtualtransaction, pid, mode, granted FROM pg_locks "
        "WHERE NOT fastpath AND pid IS DISTINCT FROM pg_backend_pid() ORDER BY 1, 2, 3, 4, 5, "
        "6, 7, 8, 9, 10, 11, 12, 13, 14")


def closure(direct):
    out = {}
    for pid in direct:
        seen, todo = set(), list(direct[pid])
        while todo:
            b = todo.pop()
            if b not in seen:
                seen.add(b)
                todo.extend(direct.get(b, ()))
        out[pid] = seen
    return out


def server_view(cluster):
    rows = cluster.query("SELECT w.pid, pg_blocking_pids(w.pid) FROM (SELECT DISTINCT pid FROM "
                         "pg_locks WHERE NOT granted AND pid IS NOT NULL) AS w")
    return {pid: set(blockers) for pid, blockers in rows}


def lockwatch_view(probe):
    out = subprocess.run([BINARY, "check", "--json", "--max-waiters", "0", "--max-roots", "0",
                          "--dsn", probe.dsn], capture_output=True, text=True, timeout=30)
    assert out.returncode in (0, 1), out.stderr
    chains = json.loads(out.stdout)["chains"]
    direct = {}
    for root in chains["roots"]:
        for w in [root] + root["waiters"]:
            if "blocked_by" in w:
                direct.setdefault(w["pid"], set()).update(w["blocked_by"])
    for pid in chains["unexplained_waiters"]:
        direct.setdefault(pid, set())
    return direct


def compare(probe, scenario):
    for _ in range(5):
        before = lock_state(probe)
        ours = lockwatch_view(probe)
        theirs = server_view(probe)
        if lock_state(probe) == before:
            break
    else:
        raise AssertionError(f"seed {scenario.seed}: the waits never held still")
    expected = closure(theirs)
    got = closure(ours)
    for pid in expected:
        assert got.get(pid, set()) == expected[pid], (
            f"seed {scenario.seed}: waiter {pid} is held up by {sorted(got.get(pid, set()))} "
            f"according to pg_lockwatch, by {sorted(expected[pid])} according to "
            f"pg_blocking_pids()\nscenario:\n  " + "\n  ".join(scenario.log))
    extra = set(got) - set(expected)
    assert not extra, f"seed {scenario.seed}: pg_lockwatch has waiters the server has not: {extra}"
    return len(expected)


def test_graph_matches_pg_blocking_pids_on_random_scenarios(cluster):
    cluster.query("DROP TABLE IF EXISTS dg_t0, dg_t1, dg_rows")
    for table in TABLES:
        cluster.query(f"CREATE TABLE {table} (id int) WITH (autovacuum_enabled = off)")
    cluster.query("CREATE TABLE dg_rows (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off)")
    cluster.query("INSERT INTO dg_rows SELECT g, 0 FROM generate_series(1, 3) AS g")
    probe = Probe(cluster)
    sessions = [Session(cluster) for _ in range(SESSIONS)]
    seeds = REGRESSIONS + [SEED * 1000 + i for i in range(SCENARIOS)]
    waiters = 0
    try:
        for seed in seeds:
            scenario = Scenario(probe, sessions, seed)
            try:
                for _ in range(scenario.rng.randint(4, 24)):
                    scenario.step()
                waiters += compare(probe, scenario)
            finally:
                scenario.cleanup()
    finally:
        for s in sessions:
            s.conn.close()
        probe.conn.close()
        cluster.query("DROP TABLE IF EXISTS dg_t0, dg_t1, dg_rows")
    print(f"{len(seeds)} scenarios, {waiters} waiters compared")
    # The generator must actually stage waits, or this test proves nothing.
    assert waiters >= len(seeds), f"only {waiters} waiters in {len(seeds)} scenarios"
