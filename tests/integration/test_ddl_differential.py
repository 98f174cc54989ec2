"""The lock classifier against PostgreSQL itself: every statement of the corpus
(tests/corpus/ddl_locks.toml) runs on a real server, and what it takes, read from
pg_locks, must equal what preflight predicts, or be covered by it (and preflight must say
which). A statement that cannot run in a transaction block is held at one of its waits
and what it holds by then must be covered. A mismatch fails and names the statement."""

import json
import os
import tomllib

import psycopg2
import pytest

from lockwatch_harness import ROOT, run_cli, wait_for, wait_ready

CORPUS = os.path.join(ROOT, "tests", "corpus", "ddl_locks.toml")
DATABASE = "lw_corpus"

MODES = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
         "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
SQL_MODES = ["ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE",
             "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"]
# PostgreSQL's conflict table ("Explicit Locking", Table 13.2), written out again here so
# that the test does not trust the code under test: CONFLICTS[m] = the modes m conflicts with.
CONFLICTS = {
    0: {7}, 1: {6, 7}, 2: {4, 5, 6, 7}, 3: {3, 4, 5, 6, 7}, 4: {2, 3, 5, 6, 7},
    5: {2, 3, 4, 5, 6, 7}, 6: {1, 2, 3, 4, 5, 6, 7}, 7: {0, 1, 2, 3, 4, 5, 6, 7},
}


def mode_index(name):
    return MODES.index(name) if name in MODES else SQL_MODES.index(name)


def conflict_set(modes):
    out = set()
    for m in modes:
        out |= CONFLICTS[mode_index(m)]
    return out


def compare(predicted, observed):
    """(missed, beyond): observed locks the prediction does not cover, and predictions
    beyond what was seen. Both: {relation: [modes]}."""
    want, seen = {}, {}
    for relation, mode in predicted:
        want.setdefault(relation, []).append(mode)
    for relation, mode in observed:
        seen.setdefault(relation, []).append(mode)
    missed = {r: m for r, m in seen.items() if not conflict_set(m) <= conflict_set(want.get(r, []))}
    beyond = {r: m for r, m in want.items() if not conflict_set(m) <= conflict_set(seen.get(r, []))}
    return missed, beyond


@pytest.fixture(scope="module")
def corpus():
    with open(CORPUS, "rb") as f:
        return tomllib.load(f)


def execute(dsn, sql):
    """Runs `sql` in autocommit (DROP DATABASE, DROP INDEX CONCURRENTLY... need that)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def database(cluster, corpus):
    """A database of its own for the corpus schema: disposable, as --trace wants."""
    execute(cluster.dsn, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    execute(cluster.dsn, f"CREATE DATABASE {DATABASE}")
    dsn = cluster.dsn.replace("dbname=postgres", f"dbname={DATABASE}")
    execute(dsn, corpus["setup"])
    yield dsn
    execute(cluster.dsn, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def preflight(dsn, sql, *extra):
    result = run_cli("preflight", "--sql", sql, "--json", "--max-xact-age", "0s", *extra, dsn=dsn)
    assert result.returncode in (0, 1), f"{sql}: exit {result.returncode}: {result.stderr}"
    doc = json.loads(result.stdout)
    assert len(doc["statements"]) == 1, sql
    return doc["statements"][0]


def predicted(statement):
    """The footprint preflight predicted (without what it added after seeing the trace), by
    oid: a statement may rename what it locks (REINDEX CONCURRENTLY swaps index names)."""
    return [(l["oid"], l["mode"]) for l in statement["footprint"]
            if l["via"] != "seen by --trace"]


def names(statement):
    return {l["oid"]: l["relation"] for l in statement["footprint"]}


def named(found, statement):
    """{oid: modes} with the oids named, for failure messages."""
    return {names(statement).get(k, k): v for k, v in found.items()}


def traced_statements(corpus, kind):
    return [s for s in corpus["statement"] if s.get("trace", "run") == kind]


def test_every_traceable_statement_takes_what_preflight_predicts(database, corpus):
    failures, verdicts = [], {"equal": 0, "covers": 0}
    for entry in traced_statements(corpus, "run"):
        sql = entry["sql"]
        statement = preflight(database, sql, "--trace", DATABASE)
        trace = statement["trace"]
        if trace["outcome"] != "traced":
            failures.append(f"{sql}: not traced ({trace['outcome']}: {trace['reason']})")
            continue
        advisory = [l for l in trace["locks"] if l["relation"].startswith("advisory lock ")]
        observed = [(l["oid"], l["mode"]) for l in trace["locks"]
                    if l["existed"] and l not in advisory]
        observed += [(l["relation"], l["mode"]) for l in advisory]
        want = predicted(statement) + [(f"advisory lock {a['key']}", a["mode"])
                                       for a in statement["advisory"]]
        missed, beyond = compare(want, observed)
        expected_verdict = "differs" if missed else ("covers" if beyond else "equal")
        if not entry.get("classified", True):
            # Locks it cannot know: it must say the statement is not clear, whatever it saw.
            if statement["clear"] or statement["classified"]:
                failures.append(f"{sql}: unclassified, yet called clear")
            continue
        if missed:
            failures.append(f"{sql}: pg_locks shows {named(missed, statement)}, not "
                            f"predicted (predicted: {statement['footprint']})")
        elif trace["verdict"] != expected_verdict:
            failures.append(f"{sql}: preflight says {trace['verdict']!r}, the locks say "
                            f"{expected_verdict!r} (beyond: {named(beyond, statement)})")
        else:
            verdicts[expected_verdict] += 1
    assert not failures, "\n".join(failures)
    assert verdicts["equal"] + verdicts["covers"] >= 100, verdicts


def query(dsn, sql, params=None):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def backend_locks(dsn, pid, existing):
    """The relation locks `pid` holds now on relations of `existing` (oids), by oid."""
    rows = query(dsn, "SELECT l.relation::int8, l.mode FROM pg_locks l WHERE l.pid = %s "
                      "AND l.granted AND l.locktype = 'relation'", (pid,))
    return [(oid, mode) for oid, mode in rows if oid in existing]


def test_statements_that_need_their_own_transaction_hold_what_is_predicted_while_they_wait(
        cluster, database, corpus):
    held = 0
    failures = []
    for entry in traced_statements(corpus, "hold"):
        sql = entry["sql"]
        statement = preflight(database, sql, "--trace", DATABASE)
        assert statement["trace"]["outcome"] == "not_run", sql
        assert "transaction block" in statement["trace"]["reason"], sql
        want = predicted(statement)
        existing = {r[0] for r in query(database, "SELECT oid::int8 FROM pg_class WHERE oid >= 16384")}
        holder = psycopg2.connect(database)
        runner = psycopg2.connect(database, async_=True)
        try:
            with holder.cursor() as cur:
                for part in entry["hold"].split(";"):
                    if part.strip():
                        cur.execute(part)
            wait_ready(runner)
            pid = runner.get_backend_pid()
            cur = runner.cursor()
            cur.execute(sql)
            wait_for(lambda: cluster.query(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                (pid,)), what=f"{sql} to wait")
            observed = backend_locks(database, pid, existing)
            holder.rollback()
            wait_ready(runner)
        finally:
            holder.close()
            runner.close()
        missed, _ = compare(want, observed)
        if not observed:
            failures.append(f"{sql}: held no relation lock while waiting")
        if missed:
            failures.append(f"{sql}: holds {named(missed, statement)} while it waits, not "
                            f"predicted ({statement['footprint']})")
        held += 1
        if entry.get("undo"):
            execute(database, entry["undo"])
    assert not failures, "\n".join(failures)
    assert held >= 3


def test_statements_that_cannot_be_traced_say_so(database, corpus):
    untraceable = traced_statements(corpus, "none")
    assert untraceable, "the corpus lists which statements cannot be traced, and why"
    for entry in untraceable:
        assert entry.get("why"), entry["sql"]
        statement = preflight(database, entry["sql"], "--trace", DATABASE)
        assert statement["trace"]["outcome"] == "not_run", entry["sql"]
        assert statement["trace"]["verdict"] == "not traced", entry["sql"]
