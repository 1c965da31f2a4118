#!/usr/bin/env bash
# Make sure the PostgreSQL the tests use answers: start the local cluster if it is
# installed but stopped, then wait for it. The tests create (and drop) a schema of
# their own each; nothing else is changed in the database.
# Usage: tests/pg/ready.sh postgres://user@host:port/db
set -euo pipefail
url="${1:?usage: ready.sh postgres://user@host:port/db}"
hostport="${url#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=5432

answers() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_isready >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-client >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-client >/dev/null
    fi
fi
if ! answers && [ "$host" = 127.0.0.1 -o "$host" = localhost ]; then
    echo "PostgreSQL does not answer on $host:$port; starting the local cluster"
    if command -v pg_ctlcluster >/dev/null; then
        for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
            pg_ctlcluster "${c%/*}" "${c#*/}" start 2>/dev/null || true
        done
    fi
    command -v service >/dev/null && service postgresql start >/dev/null 2>&1 || true
fi
for _ in $(seq 1 50); do
    if answers; then
        psql "$url" -qtAc 'select 1' >/dev/null && { echo "PostgreSQL ready at $host:$port"; exit 0; }
    fi
    sleep 0.2
done
echo "PostgreSQL at $url does not answer. Start it (trust authentication for the test user)," >&2
echo "point CARTABLE_TEST_PG_URL to another server, or set CARTABLE_TEST_PG=skip." >&2
exit 1
