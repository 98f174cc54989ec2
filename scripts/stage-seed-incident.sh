#!/usr/bin/env bash
# Stages the incident of shared/seeds on the database the PG* variables point at:
# an idle-in-transaction SELECT (app "api") holding a lock on table lockwatch_demo_accounts,
# two ALTER TABLEs ("migrate", "migrate2") queued behind it, and a reader ("api-read")
# queued behind them. The sessions are psql processes left running in the background;
# their process ids go to the file named by $1 so the caller can end them.
set -euo pipefail
pids_file=${1:?usage: stage-seed-incident.sh PIDS_FILE}
table=lockwatch_demo_accounts
: >"$pids_file"

psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $table;
CREATE TABLE $table (id int PRIMARY KEY, balance int);
INSERT INTO $table SELECT g, 100 FROM generate_series(1, 100) g;
SQL

# Runs SQL in a psql that stays connected (stdin held open by a sleep) under an
# application_name. Both pids are recorded: killing the sleep ends the session too.
session() {
  local app=$1 sql=$2
  (echo "$BASHPID" >>"$pids_file"; printf '%s\n' "$sql"; exec sleep 3600) 2>/dev/null |
    PGAPPNAME=$app psql -qX >/dev/null 2>&1 &
  echo $! >>"$pids_file"
}

# Waits until the session named $1 is in state $2 (and waiting on a lock when $3 = Lock).
await() {
  local wait_filter=""
  [[ -n "${3:-}" ]] && wait_filter="AND wait_event_type = '$3'"
  for _ in $(seq 1 200); do
    [[ -n $(psql -qXAt -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'
            AND state = '$2' $wait_filter") ]] && return 0
    sleep 0.05
  done
  echo "stage-seed-incident: $1 never reached state '$2'" >&2
  exit 1
}

session api "BEGIN; SELECT count(*) FROM $table WHERE balance > 0;"
await api "idle in transaction"
session migrate "ALTER TABLE $table ADD COLUMN note text;"
await migrate active Lock
session migrate2 "ALTER TABLE $table ADD COLUMN flag boolean DEFAULT false;"
await migrate2 active Lock
session api-read "SELECT count(*) FROM $table WHERE id = 42;"
await api-read active Lock
psql -qXAt -P pager=off -c "SELECT application_name || ' ' || pid FROM pg_stat_activity
               WHERE application_name IN ('api', 'migrate', 'migrate2', 'api-read')
               ORDER BY backend_start"
