"""preflight on a real PostgreSQL: the whole lock footprint of a table (partitions,
inheritance children, indexes), the locks each statement of --sql takes (foreign keys on
both tables, advisory locks), and --trace. Each case stages a session holding a lock
somewhere in the footprint but not on the table named: preflight must not say clear."""

import json
import re

from lockwatch_harness import create_app_user, run_cli, wait_for


def cli(cluster, *args, **kw):
    return run_cli(*args, dsn=cluster.dsn, **kw)


def explain(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def run(cluster, sql):
    cluster.query(sql)


def holds(cluster, pid, relation):
    """The modes `pid` holds on `relation` (a regclass name)."""
    rows = cluster.query("SELECT mode FROM pg_locks WHERE pid = %s AND locktype = 'relation' "
                         "AND relation = %s::regclass AND granted", (pid, relation))
    return [r[0] for r in rows]


def test_a_reader_of_a_partition_makes_the_partitioned_table_not_clear(cluster, sessions):
    user = create_app_user(cluster)
    run(cluster, "DROP TABLE IF EXISTS ppar; "
                 "CREATE TABLE ppar (id int, w0 int) PARTITION BY RANGE (id); "
                 "CREATE TABLE ppar_1 PARTITION OF ppar FOR VALUES FROM (0) TO (100) "
                 "PARTITION BY RANGE (id); "
                 "CREATE TABLE ppar_1a PARTITION OF ppar_1 FOR VALUES FROM (0) TO (50); "
                 "CREATE TABLE ppar_2 PARTITION OF ppar FOR VALUES FROM (100) TO (200); "
                 f"GRANT SELECT ON ppar, ppar_1, ppar_1a, ppar_2 TO {user}")
    reader = sessions.idle_in_transaction("SELECT count(*) FROM ppar_1a", "report", user)
    assert holds(cluster, reader, "ppar") == [], "the reader never touched the parent"

    result = cli(cluster, "preflight", "--table", "ppar")

    assert result.returncode == 1, explain(result)
    assert "preflight: ACCESS EXCLUSIVE on ppar: NOT CLEAR" in result.stdout
    assert "checked ppar and 3 related relations (3 partitions)" in result.stdout
    assert re.search(rf"^  {reader} +ppar_1a \(partition of ppar_1\) +AccessShareLock +{user} "
                     rf"+report +idle in transaction", result.stdout, re.M), result.stdout

    # The case: the ALTER that then times out is not called clear either.
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE ppar ADD COLUMN w int", "--json")
    assert result.returncode == 1, explain(result)
    statement = json.loads(result.stdout)["statements"][0]
    assert [(h["pid"], h["relation"], h["mode"]) for h in statement["holders"]] == \
        [(reader, "ppar_1a", "AccessShareLock")]
    assert statement["holders"][0]["locks"][0]["via"] == "partition of ppar_1"
    assert statement["holders"][0]["locks"][0]["wanted"] == "ACCESS EXCLUSIVE"
    # ...and ONLY the parent really is clear: it takes no lock on the partitions.
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE ONLY ppar SET (parallel_workers = 2)")
    assert result.returncode == 0, explain(result)


def test_a_lock_on_an_index_alone_makes_its_table_not_clear(cluster, sessions):
    run(cluster, "DROP TABLE IF EXISTS pidx; CREATE TABLE pidx (id int, note text); "
                 "CREATE INDEX pidx_note ON pidx (note)")
    conn = cluster.connect("index-maint", autocommit=False)
    sessions.conns.append(conn)
    with conn.cursor() as cur:
        cur.execute("ALTER INDEX pidx_note SET (fillfactor = 70)")
    pid = conn.get_backend_pid()
    assert holds(cluster, pid, "pidx") == [], "only the index is locked"
    assert holds(cluster, pid, "pidx_note") == ["ShareUpdateExclusiveLock"]

    result = cli(cluster, "preflight", "--table", "pidx")

    assert result.returncode == 1, explain(result)
    assert re.search(rf"^  {pid} +pidx_note \(index of pidx\) +ShareUpdateExclusiveLock ",
                     result.stdout, re.M), result.stdout
    # A rewrite locks the indexes too; adding a column does not, and is clear.
    rewrite = cli(cluster, "preflight", "--sql", "ALTER TABLE pidx ALTER COLUMN id TYPE bigint")
    assert rewrite.returncode == 1, explain(rewrite)
    assert "pidx_note (index of pidx)" in rewrite.stdout
    assert "! rewrites the table" in rewrite.stdout
    added = cli(cluster, "preflight", "--sql", "ALTER TABLE pidx ADD COLUMN extra int")
    assert added.returncode == 0, explain(added)


def test_a_writer_on_the_referenced_table_blocks_adding_a_foreign_key(cluster, sessions):
    user = create_app_user(cluster)
    run(cluster, "DROP TABLE IF EXISTS pf_child, pf_parent; "
                 "CREATE TABLE pf_parent (id int PRIMARY KEY); "
                 "CREATE TABLE pf_child (id int, parent_id int); "
                 "INSERT INTO pf_parent VALUES (1), (2); INSERT INTO pf_child VALUES (1, 1); "
                 f"GRANT SELECT, INSERT ON pf_parent TO {user}")
    writer = sessions.idle_in_transaction("INSERT INTO pf_parent VALUES (3)", "api", user)
    add_fk = "ALTER TABLE pf_child ADD CONSTRAINT pf_child_parent_fkey FOREIGN KEY " \
             "(parent_id) REFERENCES pf_parent (id)"

    result = cli(cluster, "preflight", "--sql", add_fk)

    assert result.returncode == 1, explain(result)
    assert "takes pf_parent SHARE ROW EXCLUSIVE" in result.stdout
    assert re.search(rf"^    {writer} +pf_parent \(referenced table\) +RowExclusiveLock +{user}",
                     result.stdout, re.M), result.stdout
    # The two-phase form: NOT VALID still needs SHARE ROW EXCLUSIVE on both tables, but
    # VALIDATE needs only ROW SHARE on the referenced one, which goes with the writer.
    assert f"1. {add_fk} NOT VALID" in result.stdout
    assert cli(cluster, "preflight", "--sql", add_fk + " NOT VALID").returncode == 1
    sessions.conns[-1].rollback()
    run(cluster, "SET lock_timeout = '5s'; " + add_fk + " NOT VALID")
    writer = sessions.idle_in_transaction("INSERT INTO pf_parent VALUES (4)", "api", user)
    validate = cli(cluster, "preflight", "--sql",
                   "ALTER TABLE pf_child VALIDATE CONSTRAINT pf_child_parent_fkey")
    assert validate.returncode == 0, explain(validate)
    assert "ROW SHARE" in validate.stdout
    # Dropping the foreign key locks the referenced table ACCESS EXCLUSIVE.
    drop = cli(cluster, "preflight", "--sql", "ALTER TABLE pf_child DROP CONSTRAINT "
                                              "pf_child_parent_fkey")
    assert drop.returncode == 1, explain(drop)
    assert "pf_parent (referenced by pf_child (pf_child_parent_fkey))" in drop.stdout


def test_a_reader_of_an_inheritance_child_makes_the_parent_not_clear(cluster, sessions):
    user = create_app_user(cluster)
    run(cluster, "DROP TABLE IF EXISTS pinh CASCADE; CREATE TABLE pinh (id int); "
                 "CREATE TABLE pinh_child (extra int) INHERITS (pinh); "
                 f"GRANT SELECT ON pinh_child TO {user}")
    reader = sessions.idle_in_transaction("SELECT count(*) FROM pinh_child", "report", user)

    result = cli(cluster, "preflight", "--table", "pinh", "--json")

    assert result.returncode == 1, explain(result)
    doc = json.loads(result.stdout)
    assert [(h["pid"], h["relation"], h["locks"][0]["via"]) for h in doc["holders"]] == \
        [(reader, "pinh_child", "child of pinh")]
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE pinh ADD COLUMN note text")
    assert result.returncode == 1, explain(result)
    assert "pinh_child (child of pinh)" in result.stdout
    # Storage parameters do not recurse to children: that one is clear.
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE pinh SET (fillfactor = 90)")
    assert result.returncode == 0, explain(result)


def test_an_advisory_lock_held_elsewhere_is_a_conflict_for_the_same_key(cluster, sessions):
    conn = cluster.connect("other-migrator")
    sessions.conns.append(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(424242)")
    pid = conn.get_backend_pid()

    result = cli(cluster, "preflight", "--sql", "SELECT pg_advisory_lock(424242)")

    assert result.returncode == 1, explain(result)
    assert re.search(rf"^    {pid} +advisory lock 424242 +ExclusiveLock ", result.stdout, re.M)
    assert cli(cluster, "preflight", "--sql", "SELECT pg_advisory_lock(424243)").returncode == 0


def test_names_resolve_on_the_search_path_the_migration_sets(cluster, sessions):
    run(cluster, "DROP SCHEMA IF EXISTS pf_app CASCADE; CREATE SCHEMA pf_app; "
                 "CREATE TABLE pf_app.pf_ledger (id int)")
    reader = sessions.idle_in_transaction("SELECT count(*) FROM pf_app.pf_ledger", "report")
    migration = "SET search_path = pf_app, public; ALTER TABLE pf_ledger ADD COLUMN note text"

    result = cli(cluster, "preflight", "--sql", migration)

    # Without following the SET, "pf_ledger" would resolve to nothing and look clear.
    assert result.returncode == 1, explain(result)
    assert re.search(rf"^    {reader} +pf_ledger +AccessShareLock ", result.stdout, re.M), \
        result.stdout
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE pf_ledger ADD COLUMN note text")
    assert result.returncode == 0 and "not found: pf_ledger" in result.stdout, explain(result)


def test_statements_it_cannot_classify_are_never_clear(cluster):
    result = cli(cluster, "preflight", "--sql", "SELECT 1; DO $$ BEGIN PERFORM 1; END $$")
    assert result.returncode == 1, explain(result)
    assert "statement 2 (Do): DO $$ BEGIN PERFORM 1; END $$" in result.stdout
    assert "  NOT CLEAR: its locks cannot be predicted" in result.stdout
    assert re.search(r"^statement 1 .*\n(.*\n)*?  clear$", result.stdout, re.M)


def test_syntax_errors_and_a_wrong_trace_database_are_usage_errors(cluster, tmp_path):
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE t ADD COLUMN a int;\nALTER TABEL t")
    assert result.returncode == 2, explain(result)
    assert result.stderr == ('pg_lockwatch: preflight: syntax error at or near "TABEL" '
                             "(line 2, column 7)\n")
    result = cli(cluster, "preflight", "--sql", "SELECT 1", "--trace", "scratch")
    assert result.returncode == 2, explain(result)
    assert 'the connection is to database "postgres"' in result.stderr
    empty = tmp_path / "empty.sql"
    empty.write_text("-- nothing\n;\n")
    result = cli(cluster, "preflight", "--file", str(empty))
    assert result.returncode == 2 and "no statement in" in result.stderr, explain(result)


def test_file_from_stdin_with_trace_shows_what_each_statement_took(cluster, sessions):
    run(cluster, "DROP TABLE IF EXISTS ptr; CREATE TABLE ptr (id int PRIMARY KEY, note text)")
    migration = ("SET lock_timeout = '2s';\n"
                 "BEGIN;\n"
                 "ALTER TABLE ptr ADD COLUMN amount int;\n"
                 "CREATE INDEX ptr_amount ON ptr (amount);\n"
                 "COMMIT;\n")

    result = cli(cluster, "preflight", "--file", "-", "--trace", "postgres", input=migration)

    assert result.returncode == 0, explain(result)
    assert result.stdout.startswith("preflight: 5 statements, traced in postgres: clear\n")
    assert "trace: not run: the trace keeps its own lock_timeout" in result.stdout
    assert "trace: saw ptr AccessExclusiveLock\n  trace: the prediction covers it" in result.stdout \
        or "trace: saw ptr AccessExclusiveLock\n  trace: the prediction is exactly" in result.stdout
    # The index statement runs in the transaction the ALTER's lock is still held in.
    assert "runs in the transaction statement 2 began, which already holds ACCESS EXCLUSIVE " \
           "on ptr (statement 3)" in result.stdout
    assert "no lock_timeout" not in result.stdout  # statement 1 set one
    # Rolled back: nothing was left behind.
    assert cluster.query("SELECT count(*) FROM pg_attribute WHERE attrelid = 'ptr'::regclass "
                         "AND attname = 'amount'") == [(0,)]

    # Under a short lock_timeout, a trace that meets a conflicting lock gives up at once.
    reader = sessions.idle_in_transaction("SELECT count(*) FROM ptr", "report")
    result = cli(cluster, "preflight", "--sql", "ALTER TABLE ptr ADD COLUMN late int",
                 "--trace", "postgres", "--trace-lock-timeout", "200ms")
    assert result.returncode == 1, explain(result)
    assert "trace: failed: lock timeout" in result.stdout
    assert re.search(rf"^    {reader} +ptr +AccessShareLock ", result.stdout, re.M)
