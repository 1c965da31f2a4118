#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (cartable-postgres, cartable-mail, the
# several-nodes tests), so that they never depend on a server already running on 5432.
#
#   tests/pg/cluster.sh start    install PostgreSQL if needed, initdb a fresh cluster in its
#                                directory, start it on a free loopback port, create the
#                                database `test` (a cluster of ours already there is replaced)
#   tests/pg/cluster.sh stop     stop it and remove its directory
#   tests/pg/cluster.sh status   exit 0 if it runs and answers
#   tests/pg/cluster.sh env      print `export CARTABLE_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/test`
#
# Environment:
# - CARTABLE_TEST_PG_URL set by the caller (and not the URL of a cluster of ours): an
#   external server, used as is. `start` only waits for it (tests/pg/ready.sh), `env`
#   prints it back, `stop` leaves it alone.
# - PG_CLUSTER_DIR (default /tmp/cartable-pg): the cluster's directory (data, socket, log,
#   the port chosen). Give each concurrent run a directory of its own (scripts/test.sh
#   makes one with mktemp).
# - PG_CLUSTER_PORT (default: a free port, asked from the kernel at start): the TCP port,
#   on 127.0.0.1 only. The Unix socket is in the cluster's directory, never in
#   /var/run/postgresql, so a system PostgreSQL is neither used nor disturbed.
#
# The binaries are Debian's (/usr/lib/postgresql/<version>/bin, the newest version
# installed); `postgresql` is installed with apt-get when there are none (as root, or
# through sudo), with create_main_cluster off while it installs, so that the packages
# neither create nor start the system's own cluster on 5432: the tests never use it, and
# this script never starts or stops it. As root, the server runs as the `postgres` system
# user (initdb refuses root) and the directory belongs to it. Authentication: trust, for
# the Unix socket and 127.0.0.1 (superuser `postgres`). Durability is off (fsync,
# synchronous_commit, full_page_writes): a crash loses the cluster, which is thrown away
# anyway.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${PG_CLUSTER_DIR:-/tmp/cartable-pg}"
DATA="$DIR/data"
RUN="$DIR/run" # the Unix socket and the server log
DB=test
SUPERUSER=postgres

say() { echo "cluster.sh: $*" >&2; }

check_dir() {
    # Never remove anything but a directory of ours.
    case "$DIR" in
        "" | / | /tmp | /tmp/ | /var/lib/postgresql* | /etc/* | /usr/* ) say "refusing PG_CLUSTER_DIR=$DIR"; exit 2 ;;
    esac
    # A Unix socket path holds at most 107 bytes: RUN/.s.PGSQL.PORT must fit.
    if [ "${#RUN}" -gt 88 ]; then
        say "PG_CLUSTER_DIR=$DIR is too long for the server's Unix socket; choose a shorter one"
        exit 2
    fi
}

# The URL of the cluster in DIR (written by start), or nothing.
our_url() { cat "$DIR/url" 2>/dev/null || true; }

# An external server: CARTABLE_TEST_PG_URL set, and not to a cluster of ours.
external() {
    [ -n "${CARTABLE_TEST_PG_URL:-}" ] && [ "$CARTABLE_TEST_PG_URL" != "$(our_url)" ]
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "not root and no sudo: cannot run $*"
        return 1
    fi
}

# The newest Debian PostgreSQL server's bin directory, or nothing.
find_bin() {
    local initdb
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$initdb" ] && [ -x "${initdb%/initdb}/pg_ctl" ] && echo "${initdb%/initdb}"
    return 0
}

# apt-get, non-interactive and quiet, as root or through sudo (as tests/ldap/slapd.sh and
# tests/browser/run.sh install theirs); waits for the dpkg lock of a concurrent run.
apt_get() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"
}

# The drop-in that keeps the Debian packages from creating (and starting) the system's
# own cluster, `main` on 5432: postgresql-common's postinst reads create_main_cluster
# from createcluster.conf, which includes createcluster.d/. Only there while we install.
NO_MAIN_CLUSTER=/etc/postgresql-common/createcluster.d/zz-cartable-tests.conf

ensure_installed() {
    BIN="$(find_bin)"
    [ -n "$BIN" ] && return
    say "installing postgresql (Debian packages; no system cluster is created or started)"
    as_root mkdir -p "${NO_MAIN_CLUSTER%/*}"
    printf '%s\n' "# tests/pg/cluster.sh, while it installs postgresql: no main cluster on 5432." \
        "create_main_cluster = false" | as_root tee "$NO_MAIN_CLUSTER" >/dev/null
    local installed=0
    if apt_get install --no-install-recommends postgresql ||
        { apt_get update && apt_get install --no-install-recommends postgresql; }; then
        installed=1
    fi
    as_root rm -f "$NO_MAIN_CLUSTER"
    as_root rmdir "${NO_MAIN_CLUSTER%/*}" 2>/dev/null || true # if it holds nothing else
    BIN="$(find_bin)"
    if [ "$installed" = 0 ] || [ -z "$BIN" ]; then
        say "could not install postgresql (no /usr/lib/postgresql/*/bin/initdb); install it," \
            "point CARTABLE_TEST_PG_URL to a server, or set CARTABLE_TEST_PG=skip"
        exit 1
    fi
}

# Who runs the server: the `postgres` system user as root (initdb refuses root), else us.
server_user() {
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

# Runs a command as the server's user, from DIR (the caller's directory may be closed
# to that user).
as_server() {
    if [ "$(id -u)" != 0 ]; then
        (cd "$DIR" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$DIR" && runuser -u postgres -- "$@")
    else
        (cd "$DIR" && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

# A free TCP port on 127.0.0.1, asked from the kernel (python3), else found by probing.
free_port() {
    if command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
        return 0
    fi
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        # Connection refused: nobody listens there.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    say "no free port found"
    return 1
}

# Whether a process runs (a zombie left to an init that does not reap does not count).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ "$state" != Z ]
}

running() {
    [ -f "$DATA/postmaster.pid" ] && [ -n "$(find_bin)" ] &&
        as_server "$(find_bin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

answers() {
    local url
    url="$(our_url)"
    [ -n "$url" ] && [ -n "$(find_bin)" ] && "$(find_bin)/psql" -X -qtA "$url" -c 'select 1' >/dev/null 2>&1
}

init_cluster() {
    rm -rf "$DIR"
    mkdir -p "$DIR" "$RUN"
    local user
    user="$(server_user)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || { say "no \`postgres\` system user to run the server as"; exit 1; }
        chown -R postgres: "$DIR"
    fi
    chmod 700 "$DIR"
    # The server's user must reach DIR (as root: every parent directory must let
    # `postgres` through, which /tmp does and /root does not).
    if ! as_server test -w "$RUN"; then
        say "$user cannot write in $RUN: choose a PG_CLUSTER_DIR it can reach (under /tmp)"
        exit 1
    fi
    # C.UTF-8 when the system has it (lower() and upper() on accented letters), else C.
    local locale=C locales
    locales=" $(locale -a 2>/dev/null | tr 'A-Z\n' 'a-z ' || true) "
    case "$locales" in *" c.utf8 "* | *" c.utf-8 "*) locale=C.UTF-8 ;; esac
    if ! as_server "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" --auth=trust -E UTF8 \
        --locale="$locale" --no-sync >"$DIR/initdb.log" 2>&1; then
        say "initdb failed (as $user):"
        cat "$DIR/initdb.log" >&2
        exit 1
    fi
    # as_server wrote in DATA; the settings are appended by us (root or the same user).
    cat >>"$DATA/postgresql.conf" <<EOF

# tests/pg/cluster.sh: a throwaway test cluster on loopback; the port is given at start.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUN'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF
}

start() {
    if external; then
        say "CARTABLE_TEST_PG_URL is set: using that server (no cluster started)"
        exec "$HERE/ready.sh" "$CARTABLE_TEST_PG_URL"
    fi
    check_dir
    ensure_installed
    if running; then
        # Always a fresh cluster.
        say "a cluster already runs in $DIR; replacing it"
        stop
    fi
    init_cluster
    local port attempt
    for attempt in 1 2 3 4 5; do
        port="${PG_CLUSTER_PORT:-$(free_port)}"
        # -w: wait until it accepts connections; it exits at once if the port is taken.
        if as_server "$BIN/pg_ctl" -D "$DATA" -l "$RUN/postgres.log" -o "-p $port" -w -t 60 \
            start >"$DIR/pg_ctl.log" 2>&1; then
            break
        fi
        if [ -n "${PG_CLUSTER_PORT:-}" ] || [ "$attempt" = 5 ]; then
            say "PostgreSQL did not start on 127.0.0.1:$port; its log:"
            cat "$DIR/pg_ctl.log" "$RUN/postgres.log" >&2 2>/dev/null || true
            exit 1
        fi
        say "PostgreSQL did not start on 127.0.0.1:$port (taken meanwhile?); another port"
    done
    echo "$port" >"$DIR/port"
    local url="postgres://$SUPERUSER@127.0.0.1:$port/$DB"
    if ! "$BIN/psql" -X -qtA "postgres://$SUPERUSER@127.0.0.1:$port/postgres" \
        -c "create database $DB" >"$DIR/createdb.log" 2>&1; then
        say "could not create the database $DB:"
        cat "$DIR/createdb.log" >&2
        exit 1
    fi
    echo "$url" >"$DIR/url"
    if ! answers; then
        say "PostgreSQL does not answer at $url; its log:"
        cat "$RUN/postgres.log" >&2 || true
        exit 1
    fi
    say "started PostgreSQL $("$BIN/postgres" -V | awk '{print $3}') at $url (as $(server_user)), data in $DATA"
}

stop() {
    check_dir
    if [ -f "$DATA/postmaster.pid" ]; then
        local pid bin
        pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true)"
        bin="$(find_bin)"
        if [ -n "$bin" ]; then
            # Fast first (clean), immediate if it lingers: the data is thrown away.
            as_server "$bin/pg_ctl" -D "$DATA" -m fast -w -t 10 stop >/dev/null 2>&1 ||
                as_server "$bin/pg_ctl" -D "$DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
        fi
        if [ -n "$pid" ] && alive "$pid"; then
            say "PostgreSQL (pid $pid) did not stop; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
        say "stopped (pid ${pid:-?}, $(our_url))"
    else
        say "not running in $DIR"
    fi
    rm -rf "$DIR"
}

status() {
    if external; then
        exec "$HERE/ready.sh" "$CARTABLE_TEST_PG_URL"
    fi
    if running && answers; then
        echo "PostgreSQL running at $(our_url), data in $DATA"
        return 0
    fi
    echo "PostgreSQL not running in $DIR"
    return 1
}

print_env() {
    if external; then
        echo "export CARTABLE_TEST_PG_URL=$CARTABLE_TEST_PG_URL"
        return 0
    fi
    local url
    url="$(our_url)"
    if [ -z "$url" ]; then
        say "no cluster in $DIR: run \`tests/pg/cluster.sh start\` first (same PG_CLUSTER_DIR)"
        exit 1
    fi
    echo "export CARTABLE_TEST_PG_URL=$url"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) print_env ;;
    *)
        echo "usage: $0 start|stop|status|env   (PG_CLUSTER_DIR=$DIR; CARTABLE_TEST_PG_URL: an external server)" >&2
        exit 2
        ;;
esac
