# shellcheck shell=bash
# pooler.sh: sourced by the by-hand compatibility scripts (run-pg-regress.sh, run-pg-isolation.sh,
# run-psycopg-suite.sh, run-node-postgres-suite.sh, run-pgbouncer-suite.sh,
# run-sqlalchemy-suite.sh, run-go-suite.sh, run-django-suite.sh, run-asyncpg-suite.sh,
# run-ruby-pg-suite.sh, run-pgjdbc-suite.sh, run-dbdpg-suite.sh, run-psycopg2-suite.sh).
# start_pooler BINARY INI LOG runs the pooler under test as the postgres user in the
# background (pid in $pooler_pid) and waits up to 5 s until it accepts connections on
# $lg_port; stop_pooler stops it. Uses the caller's asuser (array), pgbin and lg_port.

start_pooler() {
    "${asuser[@]}" "$1" "$2" >"$3" 2>&1 &
    pooler_pid=$!
    for _ in $(seq 50); do
        "${asuser[@]}" "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$lg_port" && break
        sleep 0.1
    done
}

stop_pooler() {
    kill "$pooler_pid" 2>/dev/null || true
    wait "$pooler_pid" 2>/dev/null || true
    pooler_pid=
}

# apt_source_args WORKDIR: sets aptsrc (array) to the apt-get options that reach Debian's
# deb-src for bookworm, writing WORKDIR/src.sources (and running apt-get update) if apt
# has no deb-src of its own; empty if it has.
apt_source_args() {
    aptsrc=()
    if ! grep -rqs '^deb-src\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        cat >"$1/src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        # Its own package lists too: updating the shared ones with a source-only list
        # would leave apt without its binary package lists until the next apt-get update.
        mkdir -p "$1/apt-lists/partial"
        aptsrc=(-o "Dir::Etc::SourceList=$1/src.sources" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$1/apt-lists")
        apt-get "${aptsrc[@]}" update -qq
    fi
}

# run_direct_and_modes MODE...: the caller's run_suite NAME PORT once directly against
# PostgreSQL ($pg_port), then once per pool mode through $binary started with
# write_pooler_ini's ini (in $work/run/MODE.ini, its log in $work/MODE.pooler.log).
run_direct_and_modes() {
    run_suite direct "$pg_port"
    local mode
    for mode in "$@"; do
        write_pooler_ini "$work/run/$mode.ini" "$mode" "$pg_port"
        start_pooler "$binary" "$work/run/$mode.ini" "$work/$mode.pooler.log"
        run_suite "$mode" "$lg_port"
        stop_pooler
    done
}

# pg_source DIR: sets src to PostgreSQL 15's source tree under DIR/src, fetching Debian's
# (apt-get source, unpacked) the first time.
pg_source() {
    src=$(find "$1/src" -maxdepth 1 -type d -name 'postgresql-15*' 2>/dev/null | head -n1 || true)
    if [ -z "$src" ]; then
        mkdir -p "$1/src"
        apt_source_args "$1"
        (cd "$1/src" && apt-get "${aptsrc[@]}" source --download-only postgresql-15)
        tar -xjf "$1"/src/postgresql-15_*.orig.tar.bz2 -C "$1/src"
        src=$(find "$1/src" -maxdepth 1 -type d -name 'postgresql-15*' | head -n1)
    fi
}

# write_pooler_ini FILE MODE PG_PORT: a lifeguard ini for a driver's suite: every database
# to PostgreSQL on PG_PORT, trust, pool_mode MODE, on $lg_port; the userlist next to it.
write_pooler_ini() {
    local dir
    dir=$(dirname "$1")
    cat >"$1" <<EOF
[databases]
* = host=127.0.0.1 port=$3

[lifeguard]
listen_addr = 127.0.0.1
listen_port = $lg_port
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $2
default_pool_size = 40
max_client_conn = 500
EOF
    echo '"postgres" ""' >"$dir/userlist.txt"
    chown postgres:postgres "$1" "$dir/userlist.txt"
}

# start_scratch_pg [-c name=value ...]: a fresh PostgreSQL cluster in $work/data on
# $pg_port (socket directory $work/run; $work is emptied first), trust, 200 connections;
# it and the pooler are stopped when the script exits.
scratch_cleanup() {
    [ -n "${pooler_pid:-}" ] && kill "$pooler_pid" 2>/dev/null && wait "$pooler_pid" 2>/dev/null || true
    [ -f "$work/data/postmaster.pid" ] &&
        "${asuser[@]}" "$pgbin/pg_ctl" -D "$work/data" stop -m fast >/dev/null 2>&1 || true
}
start_scratch_pg() {
    pooler_pid=
    trap scratch_cleanup EXIT
    rm -rf "$work"
    mkdir -p "$work/run"
    chown -R postgres:postgres "$work"
    "${asuser[@]}" "$pgbin/initdb" -D "$work/data" -A trust -U postgres >"$work/initdb.log" 2>&1
    "${asuser[@]}" "$pgbin/pg_ctl" -D "$work/data" -l "$work/postgres.log" -w -o \
        "-p $pg_port -k $work/run -c listen_addresses=127.0.0.1 -c max_connections=200 $*" \
        start >/dev/null
}
