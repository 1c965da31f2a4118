#!/usr/bin/env bash
# Wait until the PostgreSQL server at a URL answers (up to 10 s). It never starts a
# server: a throwaway cluster is tests/pg/cluster.sh's job, and the system's own server
# (if any) is left alone. Used for servers given from outside (CARTABLE_TEST_PG_URL,
# PG_URL of the load benches).
# Usage: tests/pg/ready.sh postgres://user@host:port/db
set -euo pipefail
url="${1:?usage: ready.sh postgres://user@host:port/db}"
hostport="${url#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=5432

answers() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
    echo "ready.sh: installing postgresql-client (apt-get)" >&2
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300)
    [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
    "${apt[@]}" install --no-install-recommends postgresql-client >/dev/null ||
        { "${apt[@]}" update >/dev/null && "${apt[@]}" install --no-install-recommends postgresql-client >/dev/null; }
fi
for _ in $(seq 1 50); do
    if answers; then
        psql -X "$url" -qtAc 'select 1' >/dev/null && { echo "PostgreSQL ready at $host:$port"; exit 0; }
    fi
    sleep 0.2
done
echo "PostgreSQL at $url does not answer. Start it (trust authentication for the test user)," >&2
echo "point the URL to another server, or leave it unset for a throwaway cluster (tests/pg/cluster.sh)." >&2
exit 1
