#!/usr/bin/env bash
# The container image: built from the Dockerfile by scripts/image.sh (buildah, on a
# debootstrapped debian:bookworm-slim) and run as the README says, against the test
# cluster with the seed incident staged on it:
#   1. the config mounted at /etc/pg_lockwatch/pg_lockwatch.toml and the DSN secret at
#      /run/secrets/dsn: it runs as uid 10001, /chains and /metrics show the incident and
#      the mounted config's policy, the secret's password is never logged, the image's
#      HEALTHCHECK command succeeds inside the container (and fails once it has stopped),
#      and SIGTERM stops it with exit 0;
#   2. the DSN secret alone (the image's own config): it connects and sees the chain.
# Exit 77 (skipped) only where buildah cannot run. Needs LOCKWATCH_TEST_CLUSTER_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=localhost/pg_lockwatch:test
base=docker.io/library/debian:bookworm-slim
port=9188 # the image's: its CMD listens there and its HEALTHCHECK asks there
url=http://127.0.0.1:$port
secret=image-test-secret
policy=image-test-policy

skip() {
  echo "SKIP: $*"
  exit 77
}
command -v buildah >/dev/null || skip "buildah is not installed (scripts/install-deps.sh --test)"
[[ $(id -u) -eq 0 ]] || skip "buildah with chroot isolation needs root here"
buildah info >/dev/null 2>&1 || skip "buildah cannot run here: $(buildah info 2>&1 | tail -n 1)"

set -a
# shellcheck source=/dev/null
. "${LOCKWATCH_TEST_CLUSTER_DIR:?the cluster.start fixture sets it}/env"
set +a

work=$(mktemp -d /tmp/lockwatch-image-test.XXXXXX)
chmod 755 "$work"
ctr=""
runner=""

fail() {
  echo "FAIL: $*" >&2
  [[ -f "$work/daemon.log" ]] && sed 's/^/  container: /' "$work/daemon.log" >&2
  exit 1
}

# True while process $1 exists and is not a zombie.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# The pg_lockwatch process among the descendants of $1 (buildah run), as the host sees it.
daemon_pid() {
  local child
  for child in $(pgrep -P "$1" || true); do
    if [[ $(cat "/proc/$child/comm" 2>/dev/null) == pg_lockwatch ]]; then
      echo "$child"
      return 0
    fi
    daemon_pid "$child" && return 0
  done
  return 1
}

# Like `docker stop`: SIGTERM to the container's process (buildah run does not forward
# signals); returns buildah run's exit status, which is the daemon's.
stop_container() {
  [[ -n "$runner" ]] || return 0
  local pid rc=0
  pid=$(daemon_pid "$runner" || true)
  [[ -n "$pid" ]] && kill -TERM "$pid"
  wait "$runner" || rc=$?
  runner=""
  return "$rc"
}

cleanup() {
  set +e
  stop_container
  [[ -n "$ctr" ]] && buildah rm "$ctr" >/dev/null
  [[ -f "$work/sessions" ]] && xargs -r kill <"$work/sessions" 2>/dev/null
  psql -qX -c 'DROP TABLE IF EXISTS lockwatch_demo_accounts' >/dev/null 2>&1
  buildah rmi "$tag" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# A field of the image's Docker config, as JSON.
image_config() {
  python3 -c 'import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["Docker"]["config"][sys.argv[2]]))' \
    "$work/image.json" "$1"
}

# The image's HEALTHCHECK command, run in the container; returns its exit status.
healthcheck() {
  local command
  command=$(python3 -c 'import json, sys
test = json.load(open(sys.argv[1]))["Docker"]["config"]["Healthcheck"]["Test"]
assert test[0] == "CMD-SHELL" and test[1], test
print(test[1])' "$work/image.json") || fail "the image has no HEALTHCHECK"
  buildah run --isolation chroot --network host "$ctr" -- /bin/sh -c "$command"
}

# Starts the image's ENTRYPOINT + CMD in the container; "$@" are buildah run's mounts.
start_container() {
  local -a command
  mapfile -t command < <(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["Docker"]["config"]
print("\n".join(c["Entrypoint"] + c["Cmd"]))' "$work/image.json")
  [[ ${#command[@]} -gt 0 ]] || fail "the image has no ENTRYPOINT/CMD"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use by another process; the image listens there"
  fi
  buildah run --isolation chroot --network host "$@" "$ctr" -- "${command[@]}" \
    >"$work/daemon.log" 2>&1 &
  runner=$!
}

# Polls "$@" for up to 60s while the container runs.
wait_until() {
  local what=$1
  shift
  for _ in $(seq 1 300); do
    "$@" && return 0
    alive "$runner" || fail "the container exited while waiting for $what"
    sleep 0.2
  done
  fail "no $what within 60s"
}
chain_of_4() {
  curl -fsS -o "$work/chains.json" "$url/chains" 2>/dev/null &&
    grep -q '"max_chain_length":4' "$work/chains.json"
}
# True when metrics.txt has a series of $1 whose labels include each of $3... with value $2.
has_series() {
  awk -v name="$1" -v value="$2" -v labels="${*:3}" '
    index($0, name "{") == 1 && $NF == value {
      n = split(labels, want, " "); ok = 1
      for (i = 1; i <= n; i++) if (!index($0, want[i])) ok = 0
      if (ok) found = 1
    }
    END { exit !found }' "$work/metrics.txt"
}
policy_decided() { grep -q "policy action: outcome=dry_run policy=\"$policy\"" "$work/daemon.log"; }

echo "== building the image (scripts/image.sh $tag)"
started=$SECONDS
if ! scripts/image.sh "$tag" >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  if probe=$(buildah from --pull=never "$base" 2>/dev/null); then
    runs=true
    buildah run --isolation chroot "$probe" -- true >/dev/null 2>&1 || runs=false
    buildah rm "$probe" >/dev/null
    $runs || skip "buildah run --isolation chroot does not work here"
  fi
  fail "the image did not build"
fi
echo "   built in $((SECONDS - started))s"
buildah inspect --type image "$tag" >"$work/image.json"
ctr=$(buildah from --pull=never "$tag")

echo "== the image runs as a non-root user with a fixed uid"
[[ $(image_config User) == '"10001:10001"' ]] || fail "USER is $(image_config User), not 10001:10001"
[[ $(buildah run --isolation chroot "$ctr" -- id -u) == 10001 ]] || fail "id -u is not 10001"

echo "== staging the seed incident on the test cluster"
scripts/stage-seed-incident.sh "$work/sessions" >"$work/staged"
mapfile -t staged < <(awk '{print $2}' "$work/staged")
[[ ${#staged[@]} -eq 4 ]] || fail "staged $(cat "$work/staged")"

echo "== run 1: the config at /etc/pg_lockwatch/pg_lockwatch.toml, the DSN at /run/secrets/dsn"
cat >"$work/pg_lockwatch.toml" <<'TOML'
[database]
dsn_file = "${CREDENTIALS_DIRECTORY}/dsn"
[watch]
interval = "1s"
[safety]
dry_run = true
protected_users = []
allow_superusers = true
[[policy]]
name = "image-test-policy"
action = "terminate"
states = ["idle in transaction"]
only_if_blocking = true
TOML
echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE password=$secret" >"$work/dsn"
# As the image has its own config (root:pg_lockwatch 0640); the secret for its uid alone.
chown 0:10001 "$work/pg_lockwatch.toml" && chmod 0640 "$work/pg_lockwatch.toml"
chown 10001:10001 "$work/dsn" && chmod 0400 "$work/dsn"
start_container -v "$work/pg_lockwatch.toml:/etc/pg_lockwatch/pg_lockwatch.toml:ro" \
  -v "$work/dsn:/run/secrets/dsn:ro"
wait_until "chain of 4 in $url/chains" chain_of_4
python3 - "$work/chains.json" "${staged[@]}" <<'PY' || fail "/chains does not show the staged chain"
import json, sys
doc, pids = json.load(open(sys.argv[1])), [int(p) for p in sys.argv[2:]]
root = doc["roots"][0]
assert root["pid"] == pids[0], (root["pid"], pids)
assert root["longest_chain"] == pids, (root["longest_chain"], pids)
PY
curl -fsS -o "$work/metrics.txt" "$url/metrics"
grep -qx 'pg_lockwatch_up 1' "$work/metrics.txt" || fail "pg_lockwatch_up is not 1"
grep -qx 'pg_lockwatch_max_chain_length 4' "$work/metrics.txt" || fail "no max_chain_length 4"
has_series pg_lockwatch_root_blocker_blocked_backends 3 "pid=\"${staged[0]}\"" ||
  fail "the root blocker's series is missing"
wait_until "dry-run decision of the mounted config's policy" policy_decided
curl -fsS -o "$work/metrics.txt" "$url/metrics"
has_series pg_lockwatch_policy_actions_total 1 "policy=\"$policy\"" 'outcome="dry_run"' ||
  fail "no dry_run count for $policy"

pid=$(daemon_pid "$runner") || fail "no pg_lockwatch process under buildah run"
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
[[ "$uids $gids" == "10001 10001 10001 10001 10001 10001 10001 10001" ]] ||
  fail "the daemon runs as uid/gid $uids / $gids"
! grep -q "$secret" "$work/daemon.log" || fail "the secret's password is in the log"
grep -q 'password=\*\*\*' "$work/daemon.log" || fail "the log does not show the masked DSN"

echo "== the image's HEALTHCHECK, inside the container"
healthcheck || fail "the HEALTHCHECK command failed while the daemon was healthy"
stop_container || fail "the daemon did not exit 0 on SIGTERM"
grep -q 'stopped' "$work/daemon.log" || fail "the daemon did not log its stop"
if healthcheck 2>/dev/null; then fail "the HEALTHCHECK command succeeded with no daemon"; fi

echo "== run 2: the DSN secret alone, with the image's own config"
start_container -v "$work/dsn:/run/secrets/dsn:ro"
wait_until "chain of 4 in $url/chains" chain_of_4
healthcheck >/dev/null || fail "the HEALTHCHECK command failed"
stop_container || fail "the daemon did not exit 0 on SIGTERM"
echo "ok: image built, run as uid 10001, incident seen, HEALTHCHECK passes ($((SECONDS - started))s)"
