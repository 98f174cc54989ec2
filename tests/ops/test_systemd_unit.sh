#!/usr/bin/env bash
# Checks systemd/pg_lockwatch.{service,sysusers,tmpfiles}:
#   1. `systemd-analyze verify` on the unit, honestly: the only change made to the
#      copy that is verified is ExecStart's binary path (when /usr/bin/pg_lockwatch
#      is not installed) so that "not executable" does not mask real problems.
#      Any diagnostic printed by verify (unknown key, bad value, ...) is a failure,
#      because verify exits 0 on "Unknown key ..., ignoring".
#   2. A deliberately broken copy must make step 1's check fail (self-test of the check).
#   3. `systemd-analyze security --offline=yes` overall exposure <= MAX_EXPOSURE (2.0).
#   4. Required directives are present (Type=notify, WatchdogSec, User, LoadCredential, ...).
#   5. sysusers/tmpfiles entries apply into a scratch root (only when running as root).
# Usage: tests/ops/test_systemd_unit.sh [UNIT_FILE]
#   env: MAX_EXPOSURE (default 2.0), PG_LOCKWATCH_BIN (binary to put in ExecStart
#        for verify; default build/pg_lockwatch if present, else /bin/true)
# Exit: 0 pass, 1 fail, 77 skip (systemd-analyze absent).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
unit=${1:-$root/systemd/pg_lockwatch.service}
sysusers=$root/systemd/pg_lockwatch.sysusers
tmpfiles=$root/systemd/pg_lockwatch.tmpfiles
max_exposure=${MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not installed"
  exit 77
fi

fails=0
passes=0
ok()   { echo "ok   - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[[ -f $unit ]] || { echo "FAIL - unit file $unit not found"; exit 1; }
name=$(basename "$unit")

# Binary to stand in for /usr/bin/pg_lockwatch when it is not installed.
bin=${PG_LOCKWATCH_BIN:-}
if [[ -z $bin ]]; then
  if [[ -x /usr/bin/pg_lockwatch ]]; then bin=/usr/bin/pg_lockwatch
  elif [[ -x $root/build/pg_lockwatch ]]; then bin=$root/build/pg_lockwatch
  else bin=/bin/true
  fi
fi

# verify_unit FILE -> 0 when verify exits 0 and prints nothing
verify_unit() {
  local f=$1 out rc
  out=$(cd "$(dirname "$f")" && systemd-analyze verify --man=no "$f" 2>&1)
  rc=$?
  if [[ $rc -ne 0 || -n $out ]]; then
    printf '%s\n' "$out" | sed 's/^/    | /'
    return 1
  fi
  return 0
}

# 1. verify (copy with only ExecStart's binary substituted)
mkdir -p "$tmp/good"
sed "s#^ExecStart=/usr/bin/pg_lockwatch #ExecStart=$bin #" "$unit" >"$tmp/good/$name"
if ! grep -q "^ExecStart=$bin run --config /etc/pg_lockwatch/pg_lockwatch.toml\$" "$tmp/good/$name"; then
  fail "ExecStart is not '/usr/bin/pg_lockwatch run --config /etc/pg_lockwatch/pg_lockwatch.toml'"
fi
if diff <(grep -v '^ExecStart=' "$unit") <(grep -v '^ExecStart=' "$tmp/good/$name") >/dev/null; then
  ok "verify copy differs from $name only in ExecStart's binary ($bin)"
else
  fail "verify copy differs from the unit in more than ExecStart"
fi
if verify_unit "$tmp/good/$name"; then
  ok "systemd-analyze verify: no diagnostics"
else
  fail "systemd-analyze verify reported problems (above)"
fi

# 2. self-test: a broken copy must be rejected by the same check
mkdir -p "$tmp/bad"
sed -e 's/^Type=notify$/Type=notifyy/' -e 's/^\[Service\]$/[Service]\nExecStartPre=relative\/path/' \
  "$tmp/good/$name" >"$tmp/bad/$name"
if verify_unit "$tmp/bad/$name" >/dev/null 2>&1; then
  fail "self-test: a broken unit (Type=notifyy) passed the verify check"
else
  ok "self-test: a broken unit is rejected by the verify check"
fi

# 3. security exposure
sec=$(systemd-analyze security --offline=yes "$tmp/good/$name" 2>&1)
line=$(printf '%s\n' "$sec" | grep -E 'Overall exposure level' | tail -1)
exposure=$(printf '%s\n' "$line" | sed -nE 's/.*: *([0-9]+(\.[0-9]+)?) .*/\1/p')
if [[ -z $exposure ]]; then
  printf '%s\n' "$sec" | tail -5 | sed 's/^/    | /'
  fail "could not parse 'Overall exposure level' from systemd-analyze security"
elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e + 0 <= m + 0) }'; then
  ok "security exposure $exposure <= $max_exposure ($line)"
else
  printf '%s\n' "$sec" | grep '✗' | sed 's/^/    | /'
  fail "security exposure $exposure > $max_exposure"
fi

# 4. required directives (the contract with the daemon and the issue)
required=(
  '^Type=notify$' '^NotifyAccess=main$' '^WatchdogSec=30$'
  '^ExecReload=/bin/kill -HUP \$MAINPID$' '^Restart=on-failure$'
  '^User=pg_lockwatch$' '^Group=pg_lockwatch$'
  '^LoadCredential=dsn:/etc/pg_lockwatch/dsn$'
  '^CapabilityBoundingSet=$' '^NoNewPrivileges=yes$' '^ProtectSystem=strict$'
  '^PrivateTmp=yes$' '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$'
  '^SystemCallFilter=@system-service$' '^SystemCallFilter=~@privileged @resources$'
  '^UMask=0077$'
)
for re in "${required[@]}"; do
  if grep -Eq "$re" "$unit"; then ok "directive $(sed -E 's/^\^//; s/\$$//; s/\\//g' <<<"$re")"
  else fail "missing directive matching $re"; fi
done
# Things that would break the daemon's job (reach a remote DB, be scraped).
for re in '^DynamicUser=yes' '^PrivateNetwork=yes' '^IPAddressDeny=any'; do
  if grep -Eq "$re" "$unit"; then fail "unit sets ${re#^} (breaks DB access or scraping)"
  else ok "unit does not set ${re#^}"; fi
done

# 5. sysusers + tmpfiles into a scratch root
if [[ $(id -u) -eq 0 ]] && command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
  r=$tmp/root
  mkdir -p "$r/etc" "$r/usr/lib/sysusers.d" "$r/usr/lib/tmpfiles.d"
  for f in passwd group shadow gshadow; do [[ -f /etc/$f ]] && cp /etc/$f "$r/etc/"; done
  # Start from a root that has no pg_lockwatch user, whatever this host has.
  sed -i '/^pg_lockwatch:/d' "$r"/etc/{passwd,group,shadow,gshadow} 2>/dev/null
  cp "$sysusers" "$r/usr/lib/sysusers.d/pg_lockwatch.conf"
  cp "$tmpfiles" "$r/usr/lib/tmpfiles.d/pg_lockwatch.conf"
  if out=$(systemd-sysusers --root="$r" pg_lockwatch.conf 2>&1) &&
     grep -q '^pg_lockwatch:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$r/etc/passwd" &&
     grep -q '^pg_lockwatch:x:' "$r/etc/group"; then
    ok "sysusers creates system user+group pg_lockwatch with nologin shell"
  else
    printf '%s\n' "$out" | sed 's/^/    | /'; fail "sysusers entry"
  fi
  gid=$(awk -F: '$1=="pg_lockwatch"{print $3}' "$r/etc/group")
  if out=$(systemd-tmpfiles --root="$r" --create pg_lockwatch.conf 2>&1) &&
     [[ $(stat -c '%u %g %a' "$r/etc/pg_lockwatch") == "0 $gid 750" ]]; then
    ok "tmpfiles creates /etc/pg_lockwatch 0750 root:pg_lockwatch"
  else
    printf '%s\n' "$out" | sed 's/^/    | /'; fail "tmpfiles entry ($(stat -c '%u %g %a' "$r/etc/pg_lockwatch" 2>&1))"
  fi
else
  echo "skip - sysusers/tmpfiles apply check (needs root and systemd-sysusers/-tmpfiles)"
fi

echo "test_systemd_unit: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
