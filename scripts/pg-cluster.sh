#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the demo, the tests and the benchmarks.
#   scripts/pg-cluster.sh start DIR [PORT]   initdb (if needed) + start; prints PGHOST/PGPORT/PGUSER
#   scripts/pg-cluster.sh stop DIR           stop (immediate) and keep the data
#   scripts/pg-cluster.sh destroy DIR        stop and remove DIR
# Listens on 127.0.0.1:PORT (a free one when PORT is omitted) and on a socket in DIR;
# PG_MAX_CONNECTIONS sets max_connections (default 200), PG_MAX_PREPARED_TRANSACTIONS
# max_prepared_transactions (default 20: the tests stage prepared transactions).
# initdb refuses to run as root, so as root the cluster belongs to the postgres user.
set -euo pipefail

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" ]] || { echo "pg-cluster: no PostgreSQL server found; run scripts/install-deps.sh" >&2; exit 2; }
  echo "$dir"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local dir=$1 port=${2:-$(free_port)} bin
  bin=$(pg_bin)
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir" && chmod 700 "$dir"
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 2; }
  fi
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=${PG_MAX_CONNECTIONS:-200} -c max_prepared_transactions=${PG_MAX_PREPARED_TRANSACTIONS:-20} -c fsync=off" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 2; }
  echo "$port" >"$dir/port"
  printf 'PGHOST=127.0.0.1\nPGPORT=%s\nPGUSER=postgres\nPGDATABASE=postgres\nPGDATA=%s\n' \
    "$port" "$dir/data" | tee "$dir/env"
}

stop() {
  local dir=$1
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start "$2" "${3:-}" ;;
  stop) stop "$2" ;;
  destroy) stop "$2"; rm -rf "$2" ;;
  *) echo "usage: $0 start|stop|destroy DIR [PORT]" >&2; exit 2 ;;
esac
