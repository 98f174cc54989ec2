#!/usr/bin/env bash
# Benchmark: the cost of one poll with BACKENDS idle-in-transaction sessions and a live
# blocking chain, on a throwaway cluster. Prints:
#   - the median server-side execution time of the poll statement and of
#     SELECT count(*) FROM pg_stat_activity, measured in the same run, and their ratio;
#   - the daemon's CPU time per poll and its RSS;
#   - /metrics latency (p50, p99) over REQUESTS scrapes.
# Usage: bench/poll_bench.sh [BACKENDS=1000] [SAMPLES=50] [REQUESTS=500]
# Needs the build (scripts/build.sh) and pgbench (postgresql-contrib, scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
backends=${1:-1000}
samples=${2:-50}
requests=${3:-500}
binary=build/pg_lockwatch
[[ -x $binary ]] || { echo "build first: scripts/build.sh" >&2; exit 2; }

work=$(mktemp -d /tmp/pg_lockwatch-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f "$work/sessions" ]] && xargs -r kill <"$work/sessions" 2>/dev/null
  scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ulimit -n 8192
eval "$(PG_MAX_CONNECTIONS=$((backends + 100)) scripts/pg-cluster.sh start "$work/pg" | sed 's/^/export /')"

printf 'BEGIN;\nSELECT 1;\n\\sleep 600 s\nEND;\n' >"$work/idle.sql"
pgbench -n -c "$backends" -j 2 -T 600 -f "$work/idle.sql" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  n=$(psql -qXAt -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
  [[ $n -ge $backends ]] && break
  sleep 0.2
done
echo "idle-in-transaction backends: $n"
scripts/stage-seed-incident.sh "$work/sessions" >/dev/null
echo "live chain staged (length 4)"

# The daemon's own statement, taken from its source so the benchmark measures exactly it.
poll_sql=$(sed -n '/R"SQL(/,/)SQL"/p' daemon/pg/activity_query.cpp | sed '1d;$d' | sed 's/\$1/1024/')

# Server-side execution time (EXPLAIN ANALYZE, no per-node timing), interleaved runs.
median_ms() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
exec_ms() {
  psql -qXAt -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
}
: >"$work/poll.ms"; : >"$work/count.ms"
for _ in $(seq 1 "$samples"); do
  exec_ms "$poll_sql" >>"$work/poll.ms"
  exec_ms "SELECT count(*) FROM pg_stat_activity" >>"$work/count.ms"
done
poll=$(median_ms <"$work/poll.ms")
count=$(median_ms <"$work/count.ms")
echo "server-side median: poll ${poll} ms, SELECT count(*) FROM pg_stat_activity ${count} ms"
echo "ratio poll/count: $(awk -v p="$poll" -v c="$count" 'BEGIN {printf "%.2f", p / c}')"

# The daemon itself: CPU per poll and RSS after a warm-up, then /metrics latency.
$binary run --dsn "host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres" \
  --listen 127.0.0.1:0 >"$work/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)
for _ in $(seq 1 100); do
  url=$(grep -so 'http://[0-9.]*:[0-9]*' "$work/daemon.log" | head -n 1 || true)
  [[ -n "$url" ]] && break
  sleep 0.1
done
metric() { curl -fsS "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
for _ in $(seq 1 100); do [[ "$(metric pg_lockwatch_max_chain_length)" == 4 ]] && break; sleep 0.2; done
polls0=$(metric pg_lockwatch_polls_total); ticks0=$(cpu_ticks)
sleep 30
polls1=$(metric pg_lockwatch_polls_total); ticks1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
echo "daemon CPU per poll: $(awk -v t=$((ticks1 - ticks0)) -v p=$((polls1 - polls0)) -v hz="$hz" \
  'BEGIN {printf "%.2f ms over %d polls", 1000 * t / hz / p, p}')"
echo "daemon RSS: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$daemon/status")"
for _ in $(seq 1 "$requests"); do
  curl -fsS -o /dev/null -w '%{time_total}\n' "$url/metrics"
done | sort -n | awk '{a[NR]=$1} END {printf "/metrics latency: p50 %.2f ms, p99 %.2f ms over %d scrapes\n", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000, NR}'
echo "metrics series: $(curl -fsS "$url/metrics" | grep -c '^pg_lockwatch_')"
