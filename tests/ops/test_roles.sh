#!/usr/bin/env bash
# Tests config/roles.sql against a live PostgreSQL (15+).
#
# Env (libpq): PGHOST, PGPORT, PGUSER = a SUPERUSER of a throwaway/test cluster,
#   optional PGPASSWORD, PGDATABASE (default postgres).
#   LW_ROLE   name of the monitoring role (default lockwatch; "pg_" names are
#             reserved by PostgreSQL)
# The cluster must let the test roles log in (trust, or password/scram: when a
# password-less login as the monitoring role fails, the test sets a temporary
# random password and restores the previous one at exit).
#
# What it checks:
#   - roles.sql applies twice without error (idempotent), and repairs drift
#   - attributes: LOGIN, INHERIT, no SUPERUSER/CREATEDB/CREATEROLE/REPLICATION/
#     BYPASSRLS, CONNECTION LIMIT 5; member of exactly pg_monitor+pg_signal_backend
#   - as the role: sees another user's query text and state in pg_stat_activity,
#     pg_blocking_pids() names the blocker, pg_cancel_backend() /
#     pg_terminate_backend() work on a non-superuser session, and fail on a
#     superuser session
#   - as the role: cannot read/write user tables, cannot CREATE in public of a
#     new database, cannot CREATE DATABASE / ROLE, cannot read server files,
#     6th concurrent connection is refused
# Creates and drops a database and a role named lw_test_*_<pid>; leaves the
# monitoring role in place. Exit 0 pass, 1 fail, 2 setup problem.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
roles_sql=$root/config/roles.sql
role=${LW_ROLE:-lockwatch}
export PGDATABASE=${PGDATABASE:-postgres}
su_password=${PGPASSWORD-}
app=lw_test_app_$$
db=lw_test_roles_$$
marker=lw_secret_marker_$$_$RANDOM
work=$(mktemp -d)

passes=0
fails=0
ok()   { echo "ok   - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
die()  { echo "ERROR - $*" >&2; exit 2; }

command -v psql >/dev/null || die "psql not found"
echo "test_roles: PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} PGUSER=${PGUSER:-} role=$role"

# --- psql helpers ------------------------------------------------------------
su_sql() { PGPASSWORD=$su_password psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
role_pw=""          # password used for $role logins ("" = none needed)
app_pw="pw_$RANDOM$RANDOM$$"
# as_role DB SQL -> stdout+stderr, exit status of psql
as_role() { PGPASSWORD=$role_pw psql -X -q -At -v ON_ERROR_STOP=1 -U "$role" -d "$1" -c "$2" 2>&1; }

# Background sessions: psql reading from a FIFO, output in $work/NAME.out
declare -A bg_fd bg_pid
bg_start() {  # NAME USER PASSWORD DB
  local name=$1 user=$2 pw=$3 dbname=$4 fd
  mkfifo "$work/$name.fifo"
  PGPASSWORD=$pw psql -X -At -U "$user" -d "$dbname" <"$work/$name.fifo" >"$work/$name.out" 2>&1 &
  bg_pid[$name]=$!
  exec {fd}>"$work/$name.fifo"
  bg_fd[$name]=$fd
}
bg_send() { printf '%s\n' "$2" >&"${bg_fd[$1]}"; }
bg_stop() {
  local name=$1
  [[ -n ${bg_fd[$name]:-} ]] && { exec {bg_fd[$name]}>&-; unset "bg_fd[$name]"; }
  if [[ -n ${bg_pid[$name]:-} ]]; then
    for _ in $(seq 50); do kill -0 "${bg_pid[$name]}" 2>/dev/null || break; sleep 0.1; done
    kill "${bg_pid[$name]}" 2>/dev/null
    wait "${bg_pid[$name]}" 2>/dev/null
    unset "bg_pid[$name]"
  fi
}
# bg_wait_for NAME REGEX [TIMEOUT_S] -> prints first matching line
bg_wait_for() {
  local t=${3:-10} i
  for ((i = 0; i < t * 10; i++)); do
    if grep -Eq "$2" "$work/$1.out" 2>/dev/null; then grep -E "$2" "$work/$1.out" | head -1; return 0; fi
    sleep 0.1
  done
  return 1
}
# bg_pid_of NAME -> backend pid of the session
bg_backend_pid() {
  bg_send "$1" "SELECT 'PID:' || pg_backend_pid();"
  bg_wait_for "$1" '^PID:[0-9]+$' 10 | sed 's/^PID://'
}

saved_verifier=""
password_changed=0
cleanup() {
  for n in "${!bg_fd[@]}"; do bg_stop "$n"; done
  for n in "${!bg_pid[@]}"; do bg_stop "$n"; done
  su_sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()" >/dev/null 2>&1
  su_sql -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  su_sql -c "DROP ROLE IF EXISTS $app" >/dev/null 2>&1
  # objects that only exist when a check failed (the role could create them)
  su_sql -c "DROP DATABASE IF EXISTS lw_should_fail_$$" >/dev/null 2>&1
  su_sql -c "DROP ROLE IF EXISTS lw_should_fail_$$" >/dev/null 2>&1
  if [[ $password_changed -eq 1 ]]; then
    if [[ -n $saved_verifier ]]; then
      su_sql -c "ALTER ROLE $role PASSWORD '$saved_verifier'" >/dev/null
    else
      su_sql -c "ALTER ROLE $role PASSWORD NULL" >/dev/null
    fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- setup -------------------------------------------------------------------
su_sql -c "SELECT 1" >/dev/null || die "cannot connect as ${PGUSER:-?} (set PGHOST/PGPORT/PGUSER)"
[[ $(su_sql -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == t ]] ||
  die "PGUSER must be a superuser"
server_num=$(su_sql -c "SHOW server_version_num")
echo "test_roles: server_version_num=$server_num"

# --- 1. apply twice ----------------------------------------------------------
for i in 1 2; do
  if out=$(su_sql -v role="$role" -f "$roles_sql" 2>&1); then
    ok "roles.sql applied (run $i)"
  else
    printf '%s\n' "$out" | sed 's/^/    | /'
    fail "roles.sql run $i failed"
    echo "test_roles: $passes passed, $fails failed"; exit 1
  fi
done
if printf '%s\n' "$out" | grep -q 'created role'; then
  fail "second run created the role again"
fi

check_attrs() {
  local got
  got=$(su_sql -c "SELECT rolcanlogin, rolinherit, rolsuper, rolcreatedb, rolcreaterole,
                          rolreplication, rolbypassrls, rolconnlimit
                     FROM pg_roles WHERE rolname = '$role'")
  if [[ $got == "t|t|f|f|f|f|f|5" ]]; then
    ok "$1: LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5"
  else
    fail "$1: attributes login|inherit|super|createdb|createrole|repl|bypassrls|connlimit = $got"
  fi
}
check_attrs "attributes"
got=$(su_sql -c "SELECT string_agg(g.rolname, ',' ORDER BY g.rolname)
                   FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                  WHERE m.member = '$role'::regrole")
[[ $got == "pg_monitor,pg_signal_backend" ]] &&
  ok "member of exactly pg_monitor, pg_signal_backend" ||
  fail "memberships are '$got', want 'pg_monitor,pg_signal_backend'"
got=$(su_sql -c "SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = '$role'")
[[ $got == *statement_timeout=10s* && $got == *lock_timeout=2s* ]] &&
  ok "role defaults: $got" || fail "role defaults missing: '$got'"

# drift repair
su_sql -c "ALTER ROLE $role CREATEDB CREATEROLE NOINHERIT CONNECTION LIMIT 50" >/dev/null
su_sql -v role="$role" -f "$roles_sql" >/dev/null 2>&1 || fail "re-apply after drift failed"
check_attrs "drift repaired by re-apply"

# --- 2. logins ---------------------------------------------------------------
su_sql -c "CREATE ROLE $app LOGIN PASSWORD '$app_pw'" >/dev/null || die "create $app"
su_sql -c "CREATE DATABASE $db OWNER $app" >/dev/null || die "create database $db"
if ! PGPASSWORD= as_role "$db" "SELECT 1" >/dev/null; then
  saved_verifier=$(su_sql -c "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = '$role'")
  role_pw="pw_$RANDOM$RANDOM$$"
  su_sql -c "ALTER ROLE $role PASSWORD '$role_pw'" >/dev/null
  password_changed=1
  echo "note - password-less login as $role refused; using a temporary password (restored at exit)"
fi
out=$(as_role "$db" "SELECT current_user") ||
  { printf '%s\n' "$out" | sed 's/^/    | /'; die "cannot log in as $role"; }
ok "can log in as $role"
PGPASSWORD=$app_pw psql -X -q -At -U "$app" -d "$db" -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE lw_t (id int); INSERT INTO lw_t VALUES (1)" >/dev/null ||
  die "cannot log in as $app / create its table"

# --- 3. sees other sessions, blocking pids; can cancel/terminate ----------------
bg_start holder "$app" "$app_pw" "$db"
bg_send holder "BEGIN;"
bg_send holder "LOCK TABLE lw_t IN ACCESS EXCLUSIVE MODE;"
holder_pid=$(bg_backend_pid holder)
bg_send holder "SELECT 'done' AS $marker;"
bg_wait_for holder '^done$' 10 >/dev/null || die "holder session did not start: $(cat "$work/holder.out")"
[[ -n $holder_pid ]] || die "holder pid unknown"

bg_start waiter "$app" "$app_pw" "$db"
waiter_pid=$(bg_backend_pid waiter)
bg_send waiter "SELECT count(*) FROM lw_t;"
for _ in $(seq 100); do
  [[ $(su_sql -c "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $waiter_pid") == Lock ]] && break
  sleep 0.1
done

got=$(as_role "$db" "SELECT state || '|' || query FROM pg_stat_activity WHERE pid = $holder_pid")
if [[ $got == "idle in transaction|"*"$marker"* ]]; then
  ok "sees another user's state and query text (pid $holder_pid: ${got%%|*})"
else
  fail "cannot see another user's query: '$got'"
fi
got=$(as_role "$db" "SELECT xact_start IS NOT NULL FROM pg_stat_activity WHERE pid = $holder_pid")
[[ $got == t ]] && ok "sees xact_start of another user's session" || fail "xact_start hidden: '$got'"
got=$(as_role "$db" "SELECT pg_blocking_pids($waiter_pid)::text")
[[ $got == "{$holder_pid}" ]] && ok "pg_blocking_pids($waiter_pid) = $got" ||
  fail "pg_blocking_pids($waiter_pid) = '$got', want {$holder_pid}"
got=$(as_role "$db" "SELECT count(*) FROM pg_locks WHERE pid = $holder_pid AND mode = 'AccessExclusiveLock' AND granted")
[[ $got -ge 1 ]] && ok "reads pg_locks of another user's session" || fail "pg_locks: '$got'"

got=$(as_role "$db" "SELECT pg_cancel_backend($waiter_pid)")
if [[ $got == t ]] && bg_wait_for waiter 'canceling statement due to user request' 10 >/dev/null; then
  ok "pg_cancel_backend() on a non-superuser session works"
else
  fail "pg_cancel_backend($waiter_pid): '$got' / $(tail -2 "$work/waiter.out")"
fi
got=$(as_role "$db" "SELECT pg_terminate_backend($holder_pid)")
gone=0
for _ in $(seq 50); do
  [[ $(su_sql -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $holder_pid") == 0 ]] && { gone=1; break; }
  sleep 0.1
done
[[ $got == t && $gone == 1 ]] && ok "pg_terminate_backend() on a non-superuser session works" ||
  fail "pg_terminate_backend($holder_pid): '$got', gone=$gone"
bg_stop waiter
bg_stop holder

# cannot read or write the user table it watches (checked after the lock is
# gone: PostgreSQL locks the table before checking privileges, so while it is
# held the role's lock_timeout = 2s default is what saves it from queueing)
got=$(as_role "$db" "SELECT * FROM lw_t")
[[ $got == *"permission denied"* ]] && ok "cannot SELECT from a user table (permission denied)" ||
  fail "SELECT on user table: '$got'"
got=$(as_role "$db" "INSERT INTO lw_t VALUES (2)")
[[ $got == *"permission denied"* ]] && ok "cannot INSERT into a user table" || fail "INSERT: '$got'"


bg_start super "${PGUSER:-postgres}" "$su_password" "$db"
super_pid=$(bg_backend_pid super)
got=$(as_role "$db" "SELECT pg_terminate_backend($super_pid)")
if [[ $got == *ERROR* && $(su_sql -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $super_pid") == 1 ]]; then
  ok "pg_terminate_backend() on a superuser session is refused (${got#*ERROR:  })"
else
  fail "terminating a superuser session: '$got'"
fi
got=$(as_role "$db" "SELECT pg_cancel_backend($super_pid)")
[[ $got == *ERROR* ]] && ok "pg_cancel_backend() on a superuser session is refused" ||
  fail "cancelling a superuser session: '$got'"
bg_stop super

# --- 4. cannot do anything else -------------------------------------------------
if [[ $server_num -ge 150000 ]]; then
  got=$(as_role "$db" "CREATE TABLE public.lw_should_fail (id int)")
  [[ $got == *"permission denied"* ]] && ok "cannot CREATE TABLE in public of a new database" ||
    fail "CREATE TABLE in public: '$got'"
else
  echo "skip - CREATE in public (PostgreSQL < 15 grants it to PUBLIC by default)"
fi
got=$(as_role "$db" "CREATE SCHEMA lw_should_fail")
[[ $got == *"permission denied"* ]] && ok "cannot CREATE SCHEMA" || fail "CREATE SCHEMA: '$got'"
got=$(as_role "$db" "CREATE DATABASE lw_should_fail_$$")
[[ $got == *"permission denied"* ]] && ok "cannot CREATE DATABASE" || fail "CREATE DATABASE: '$got'"
got=$(as_role "$db" "CREATE ROLE lw_should_fail_$$")
[[ $got == *"permission denied"* ]] && ok "cannot CREATE ROLE" || fail "CREATE ROLE: '$got'"
got=$(as_role "$db" "GRANT pg_monitor TO $app")
[[ $got == *ERROR* ]] && ok "cannot grant its roles on (no ADMIN OPTION)" || fail "GRANT pg_monitor: '$got'"
got=$(as_role "$db" "SELECT pg_read_file('PG_VERSION')")
[[ $got == *"permission denied"* ]] && ok "cannot read server files (pg_read_file)" || fail "pg_read_file: '$got'"
got=$(as_role "$db" "COPY (SELECT 1) TO PROGRAM 'true'")
[[ $got == *ERROR* ]] && ok "cannot COPY TO PROGRAM" || fail "COPY TO PROGRAM: '$got'"
got=$(as_role "$db" "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
[[ $got == f ]] && ok "is not a superuser in its own session" || fail "rolsuper: '$got'"

# connection limit: 5 concurrent sessions fine, a 6th refused
existing=$(su_sql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$role'")
if [[ $existing -eq 0 ]]; then
  for i in 1 2 3 4 5; do bg_start "c$i" "$role" "$role_pw" "$db"; bg_backend_pid "c$i" >/dev/null; done
  n=$(su_sql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$role'")
  got=$(as_role "$db" "SELECT 1")
  if [[ $n -eq 5 && $got == *"too many connections for role"* ]]; then
    ok "5 concurrent connections allowed, 6th refused (CONNECTION LIMIT 5)"
  else
    fail "connection limit: $n open, 4th gave '$got'"
  fi
  for i in 1 2 3 4 5; do bg_stop "c$i"; done
else
  echo "skip - live connection-limit check ($existing other $role sessions are connected)"
fi

echo "test_roles: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
