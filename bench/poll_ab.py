#!/usr/bin/env python3
"""A/B of poll statement variants on one staged server: server CPU per execution.

Each variant is the poll statement assembled from a version of daemon/pg/activity_query.cpp
(a path, or git:REV:daemon/pg/activity_query.cpp), or `bl=x` for the prepared
SELECT count(*) FROM pg_stat_activity baseline. Each runs on its own session, prepared;
rounds interleave the variants in random order, N executions each, and the backend's own
utime+stime from /proc is read around them. Run it on the database host, against a
pile-up you staged (bench/pileup_bench.py stages the same ones).

Usage: [POLL_AB_ARGS=...] bench/poll_ab.py DSN ROUNDS N name=SOURCE [name=SOURCE ...]
  e.g. bench/poll_ab.py "host=127.0.0.1 port=5432 user=postgres" 7 150 \
         old=git:HEAD~1:daemon/pg/activity_query.cpp new=daemon/pg/activity_query.cpp bl=x
"""
import re, sys, os, psycopg2, subprocess, random
HZ = os.sysconf("SC_CLK_TCK")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
def poll_sql(src):
    consts = dict(re.findall(r'const char\* const (k_\w+) = R"SQL\((.*?)\)SQL";', src, re.S))
    sql = "".join(consts[k] for k in ["k_activity_cte","k_lock_ctes","k_backend_rows","k_involved_backends","k_lock_rows","k_summary_rows"])
    prep = re.search(r'k_prepared_code =\s*((?:"[^"]*"\s*)+);', src).group(1)
    prep = "".join(re.findall(r'"([^"]*)"', prep))
    wanted = consts.get("k_wanted", "")
    sql = sql.replace("@WANTED@", wanted).replace("@WAITSTART@", "(date_part('epoch', l.waitstart) * 1000000)::int8").replace("@PREPARED@", prep)
    return sql
def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split(); return int(f[11]) + int(f[12])
dsn, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
variants = []
for arg in sys.argv[4:]:
    name, path = arg.split("=", 1)
    src = subprocess.run(["git","-C",ROOT,"show",path[4:]],capture_output=True,text=True,check=True).stdout if path.startswith("git:") else (open(path).read() if name != "bl" else "")
    c = psycopg2.connect(dsn); c.autocommit = True; cur = c.cursor()
    cur.execute("SELECT pg_backend_pid()"); pid = cur.fetchone()[0]
    cur.execute("SET statement_timeout = '30s'")
    cur.execute("PREPARE x(int, bool, text[], float8, int[], int[]) AS " + poll_sql(src) if name != "bl" else "PREPARE x(int,bool,text[],float8,int[],int[]) AS SELECT count(*) FROM pg_stat_activity")
    variants.append((name, cur, pid, []))
# The daemon's arguments: by default a non-blocking idle-in-transaction policy (30 s), so
# old idle transactions come back as rows; POLL_AB_ARGS overrides them (e.g. no policy:
# "(200, false, '{}', 0, '{}', '{}')", the pileup benchmark's quiet poll).
args = os.environ.get("POLL_AB_ARGS", "(200, false, '{\"idle in transaction\"}', 30, '{}', '{}')")
for r in range(rounds):
    order = variants[:]; random.shuffle(order)
    for name, cur, pid, res in order:
        t0 = ticks(pid); rows = 0
        for _ in range(n):
            cur.execute("EXECUTE x" + args); rows = len(cur.fetchall())
        res.append(1000.0 * (ticks(pid) - t0) / HZ / n)
    print("round", r, " ".join(f"{v[0]}={v[3][-1]:.2f}" for v in variants), flush=True)
import statistics
for name, cur, pid, res in variants:
    print(f"{name}: median {statistics.median(res):.2f} ms  min {min(res):.2f}")
