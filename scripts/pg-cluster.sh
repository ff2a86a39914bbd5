#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster from the machine's own binaries, for tests and benchmarks.
#   scripts/pg-cluster.sh start DIR PORT   -> prints the DATABASE_URL on stdout
#   scripts/pg-cluster.sh stop DIR
#   scripts/pg-cluster.sh kill DIR         (immediate shutdown, for fault tests)
# initdb refuses to run as root, so when run as root the cluster belongs to the postgres user.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-cluster.sh start|stop|kill DIR [PORT]}
dir=${2:?data directory}
port=${3:-55432}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      as_owner "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
# Throwaway test clusters: durability is not what they are for, speed is.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    fi
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  kill)
    as_owner "$PG_BIN/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
