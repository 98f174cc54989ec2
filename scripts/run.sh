#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the daemon.
#   scripts/run.sh                      demo: throwaway PostgreSQL + the seed incident
#   scripts/run.sh --dsn DSN [...]      watch a real database (any `pg_lockwatch run` options)
#   scripts/run.sh --config FILE [...]  likewise, from a config file
# Demo options: --seconds N stops after N seconds (default: run until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

scripts/install-deps.sh
scripts/build.sh build

if [[ ${#args[@]} -gt 0 || -n "${PG_LOCKWATCH_DSN:-}" ]]; then
  [[ -n "${PG_LOCKWATCH_DSN:-}" ]] && args=(--dsn "$PG_LOCKWATCH_DSN" "${args[@]}")
  exec build/pg_lockwatch run "${args[@]}"
fi

work=$(mktemp -d /tmp/pg_lockwatch-demo.XXXXXX)
chmod 755 "$work"
daemon_pid=""
cleanup() {
  [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [[ -f "$work/sessions" ]] && xargs -r kill <"$work/sessions" 2>/dev/null
  scripts/pg-cluster.sh destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

echo "== starting a throwaway PostgreSQL in $work/pg"
eval "$(scripts/pg-cluster.sh start "$work/pg" | sed 's/^/export /')"
cat >"$work/pg_lockwatch.toml" <<TOML
[database]
dsn = "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
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

echo "== starting pg_lockwatch"
build/pg_lockwatch run --config "$work/pg_lockwatch.toml" --listen 127.0.0.1:0 2>&1 |
  tee "$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 100); do
  url=$(grep -so 'http://[0-9.]*:[0-9]*' "$work/daemon.log" | head -n 1 || true)
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "pg_lockwatch did not start" >&2; exit 1; }

echo "== staging the seed incident (idle in transaction -> ALTER -> ALTER -> SELECT)"
scripts/stage-seed-incident.sh "$work/sessions"

for _ in $(seq 1 100); do
  grep -q '"max_chain_length":4' <(curl -fsS "$url/chains" 2>/dev/null) && break
  sleep 0.2
done
echo
echo "== the blocking tree, as an operator sees it (pg_lockwatch check):"
build/pg_lockwatch check --dsn "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" || true
echo
echo "== the same as JSON: $url/chains"
curl -fsS "$url/chains" | python3 -m json.tool | head -n 24
echo "   ..."
echo
echo "== metrics: $url/metrics"
curl -fsS "$url/metrics" | grep -E '^pg_lockwatch_(max_chain_length|blocked_backends|root_blockers|root_blocker_blocked_backends)'
echo
echo "== the policy's decision (dry run) appears in the log once the root has been idle 5s:"
for _ in $(seq 1 50); do grep -q 'policy action:' "$work/daemon.log" && break; sleep 0.2; done
echo
if [[ -n "$seconds" ]]; then
  echo "== running for ${seconds}s more"
  sleep "$seconds"
else
  echo "== running; open $url/metrics or $url/chains. Ctrl-C stops and removes everything."
  wait "$daemon_pid"
fi
