#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the daemon.
#   scripts/run.sh                      demo: throwaway PostgreSQL + the seed incident
#   scripts/run.sh --seconds N          the demo, stopping N seconds after it is shown
#   scripts/run.sh --dsn DSN [...]      watch a real database (any `pg_lockwatch run` options)
#   scripts/run.sh --config FILE [...]  likewise, from a config file
# However the demo ends (--seconds, Ctrl-C, SIGTERM, SIGHUP, a closed stdout or an error),
# it stops the daemon, the staged sessions and the cluster, and removes its temp dir.
# Exit status: 0 when it ran to the end or was stopped (Ctrl-C, SIGTERM) once running;
# 128+signal when stopped before the demo was up; 1 when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds)
      [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || { echo "run.sh: --seconds needs a whole number" >&2; exit 2; }
      seconds=$2
      shift 2
      ;;
    *) args+=("$1"); shift ;;
  esac
done

scripts/install-deps.sh
scripts/build.sh build

if [[ ${#args[@]} -gt 0 || -n "${PG_LOCKWATCH_DSN:-}" ]]; then
  [[ -z "$seconds" ]] || { echo "run.sh: --seconds applies to the demo only" >&2; exit 2; }
  [[ -n "${PG_LOCKWATCH_DSN:-}" ]] && args=(--dsn "$PG_LOCKWATCH_DSN" "${args[@]}")
  exec build/pg_lockwatch run "${args[@]}"
fi

work=""
daemon_pid=""
follow_pid=""
timer_pid=""
running=false
stop_signal=""

# echo that never ends the script: the reader of stdout may be gone (run.sh | head).
say() { echo "$@" 2>/dev/null || true; }

# True while process $1 exists and is not a zombie.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# SIGTERM, then SIGKILL if it has not gone within 5 s.
stop_process() {
  alive "$1" || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    alive "$1" || return 0
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap '' INT TERM HUP PIPE  # a second Ctrl-C must not cut the cleanup short
  set +e
  [[ -n "$work" ]] || exit "$rc"
  say "== stopping pg_lockwatch, the staged sessions and PostgreSQL; removing $work"
  for pid in "$follow_pid" "$timer_pid" "$daemon_pid"; do
    [[ -n "$pid" ]] && stop_process "$pid"
  done
  if [[ -f "$work/sessions" ]]; then
    while read -r pid; do stop_process "$pid"; done <"$work/sessions"
  fi
  scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
  wait 2>/dev/null  # reap the children stopped above
  # Nothing here pipes into another command: a child killed by SIGPIPE wrote to our stdout.
  [[ $rc -eq $((128 + $(kill -l PIPE))) ]] && stop_signal=PIPE
  if [[ -n "$stop_signal" ]]; then
    if $running; then rc=0; else rc=$((128 + $(kill -l "$stop_signal"))); fi
  fi
  exit "$rc"
}
trap cleanup EXIT
for signal in INT TERM HUP PIPE; do
  # shellcheck disable=SC2064 # the signal's name is fixed when the trap is set
  trap "stop_signal=$signal; exit 1" "$signal"
done

fail() {
  say "run.sh: $*" >&2
  [[ -f "$work/daemon.log" ]] && { say "-- pg_lockwatch's log:"; cat "$work/daemon.log" 2>/dev/null; }
  exit 1
}

work=$(mktemp -d /tmp/pg_lockwatch-demo.XXXXXX)
chmod 755 "$work"

say "== starting a throwaway PostgreSQL in $work/pg"
scripts/pg-cluster.sh start "$work/pg" >/dev/null
set -a
# shellcheck source=/dev/null
. "$work/pg/env"
set +a
dsn="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
cat >"$work/pg_lockwatch.toml" <<TOML
[database]
dsn = "$dsn"
[watch]
interval = "1s"

# What pg_lockwatch would do about the incident: dry run, so it only logs its decision.
# (The demo's sessions run as the superuser postgres, which is protected by default.)
[safety]
dry_run = true
protected_users = []
allow_superusers = true

[[policy]]
name = "idle-blockers"
action = "terminate"
states = ["idle in transaction", "idle in transaction (aborted)"]
min_state_age = "5s"
only_if_blocking = true
TOML

say "== starting pg_lockwatch (its log: $work/daemon.log)"
# Straight into a file, so $! is the daemon itself and nothing sits between it and the log.
build/pg_lockwatch run --config "$work/pg_lockwatch.toml" --listen 127.0.0.1:0 \
  </dev/null >"$work/daemon.log" 2>&1 &
daemon_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -m 1 -o 'http://[0-9.]*:[0-9]*' "$work/daemon.log" || true)
  [[ -n "$url" ]] && break
  alive "$daemon_pid" || fail "pg_lockwatch exited before it listened"
  sleep 0.1
done
[[ -n "$url" ]] || fail "pg_lockwatch did not say where it listens within 10s"

say "== staging the seed incident (idle in transaction -> ALTER -> ALTER -> SELECT)"
scripts/stage-seed-incident.sh "$work/sessions" >"$work/staged"
say "   application and backend pid, in the order they queued:"
while read -r line; do say "   $line"; done <"$work/staged"

chain_seen=false
for _ in $(seq 1 100); do
  if curl -fsS -o "$work/chains.json" "$url/chains" 2>/dev/null &&
    grep -q '"max_chain_length":4' "$work/chains.json"; then
    chain_seen=true
    break
  fi
  sleep 0.2
done
$chain_seen || fail "the daemon did not report the chain of 4 within 20s"
running=true

say
say "== the blocking tree, as an operator sees it (pg_lockwatch check):"
check_rc=0
build/pg_lockwatch check --dsn "$dsn" >"$work/check.txt" 2>&1 || check_rc=$?
cat "$work/check.txt"
[[ $check_rc -le 1 ]] || fail "pg_lockwatch check failed (exit $check_rc)"
say
say "== the same as JSON: $url/chains (first 24 lines)"
python3 -m json.tool "$work/chains.json" >"$work/chains.pretty"
sed -n '1,24p' "$work/chains.pretty"
say "   ..."
say
say "== metrics: $url/metrics"
curl -fsS -o "$work/metrics.txt" "$url/metrics"
grep -E '^pg_lockwatch_(max_chain_length|blocked_backends|root_blockers|root_blocker_blocked_backends)' \
  "$work/metrics.txt" || fail "no chain metrics in $url/metrics"
say
say "== the policy's decision (dry run), logged once the root has been idle 5s:"
decision=""
for _ in $(seq 1 100); do
  decision=$(grep -m 1 'policy action:' "$work/daemon.log" || true)
  [[ -n "$decision" ]] && break
  alive "$daemon_pid" || fail "pg_lockwatch exited"
  sleep 0.2
done
[[ -n "$decision" ]] || fail "no policy decision in the log within 20s"
say "$decision"
say
say "== pg_lockwatch's log so far:"
cat "$work/daemon.log"
say
if [[ -n "$seconds" ]]; then
  say "== running for ${seconds}s more (new log lines follow)"
else
  say "== running; open $url/metrics or $url/chains. Ctrl-C stops and removes everything."
fi
tail -c "+$(($(stat -c %s "$work/daemon.log") + 1))" -f "$work/daemon.log" &
follow_pid=$!
if [[ -n "$seconds" ]]; then
  sleep "$seconds" &
  timer_pid=$!
  wait -n "$timer_pid" "$daemon_pid" || true
else
  wait "$daemon_pid" || true
fi
alive "$daemon_pid" || fail "pg_lockwatch exited unexpectedly"
