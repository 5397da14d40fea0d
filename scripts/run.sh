#!/usr/bin/env bash
# run.sh: what `make run` runs after building. Starts a throwaway PostgreSQL 15
# (cluster in .run/pg, git-ignored) or uses yours (LG_PGHOST, LG_PGPORT,
# LG_PGUSER, LG_PGPASSWORD), creates the SCRAM user "app" (password "app") and
# database "app", starts lifeguard on 127.0.0.1:${LG_PORT:-6432}, runs a short
# pgbench through it, prints how to connect, then waits. Ctrl-C stops
# lifeguard and the PostgreSQL this script started, nothing else.
#
#   BUILD=debug|asan|release   picks build/$BUILD/lifeguard
#   LG_BINARY=path             another binary (e.g. /usr/sbin/pgbouncer)
#   LG_PORT=6432               lifeguard's port
#   LG_BENCH_T=10              seconds of pgbench -S (0 skips pgbench)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-debug}
binary=$(readlink -f "${LG_BINARY:-$repo/build/$BUILD/lifeguard}")
port=${LG_PORT:-6432}
bench_t=${LG_BENCH_T:-10}
pgbin=/usr/lib/postgresql/15/bin
py=/usr/bin/python3
run_dir=$repo/.run
pgdata=$run_dir/pg
pgsock=$run_dir/pgsock
ini=$run_dir/lifeguard.ini
userlist=$run_dir/userlist.txt
lglog=$run_dir/lifeguard.log

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() {
    printf 'run.sh: %s\n' "$*" >&2
    exit 1
}

[ -x "$binary" ] || die "$binary not found (build it: make BUILD=$BUILD)"
[ -x "$pgbin/postgres" ] || die "PostgreSQL 15 is not installed (scripts/deps.sh)"

# PostgreSQL (and lifeguard, by habit) do not run as root: drop to postgres.
if [ "$(id -u)" -eq 0 ]; then
    as_owner() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
else
    as_owner() { "$@"; }
fi

port_in_use() {
    "$py" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no conflict
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}

port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- cleanup: only what this script started ----
lg_pid=""
pg_started=0
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$lg_pid" ] && kill -0 "$lg_pid" 2>/dev/null; then
        say "stopping $(basename "$binary") (pid $lg_pid)"
        kill -TERM "$lg_pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$lg_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$lg_pid" 2>/dev/null; then
            echo "run.sh: no exit 10 s after SIGTERM; killing it" >&2
            kill -KILL "$lg_pid" 2>/dev/null || true
        fi
    fi
    if [ "$pg_started" = 1 ]; then
        say "stopping PostgreSQL ($pgdata)"
        as_owner "$pgbin/pg_ctl" -D "$pgdata" -m fast -w -t 30 stop >/dev/null ||
            as_owner "$pgbin/pg_ctl" -D "$pgdata" -m immediate -w -t 30 stop >/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if port_in_use "$port"; then
    die "port $port is in use (another pooler? set LG_PORT)"
fi

mkdir -p "$run_dir"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$run_dir"
    # shellcheck disable=SC2016 # $1/$2 belong to the inner sh
    as_owner sh -c 'test -w "$1" && test -x "$2"' _ "$run_dir" "$binary" ||
        die "user postgres cannot reach $run_dir or $binary (is the repo under a private dir?)"
fi

# ---- PostgreSQL: yours, or a throwaway one ----
if [ -n "${LG_PGHOST:-}${LG_PGPORT:-}" ]; then
    pg_host=${LG_PGHOST:-127.0.0.1}
    pg_port=${LG_PGPORT:-5432}
    pg_user=${LG_PGUSER:-postgres}
    export PGPASSWORD=${LG_PGPASSWORD:-}
    admin=(env PGCONNECT_TIMEOUT=10 "$pgbin/psql" -X -q -v ON_ERROR_STOP=1
        -h "$pg_host" -p "$pg_port" -U "$pg_user")
    say "using your PostgreSQL at $pg_host:$pg_port as $pg_user"
    "${admin[@]}" -d postgres -c 'SELECT 1' >/dev/null || die "cannot connect to $pg_host:$pg_port"
else
    pg_host=127.0.0.1
    pg_port=54329
    while port_in_use "$pg_port"; do
        pg_port=$((pg_port + 1))
        [ "$pg_port" -lt 54400 ] || die "no free port for PostgreSQL in 54329-54399"
    done
    if [ ! -f "$pgdata/PG_VERSION" ]; then
        say "initdb $pgdata"
        rm -rf "$pgdata"
        mkdir -p "$pgdata"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
        as_owner "$pgbin/initdb" -D "$pgdata" -U postgres --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
    fi
    if as_owner "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        die "a PostgreSQL already runs on $pgdata (another make run?)"
    fi
    mkdir -p "$pgsock"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgsock"
    say "starting PostgreSQL 15 on 127.0.0.1:$pg_port"
    pg_started=1
    as_owner "$pgbin/pg_ctl" -D "$pgdata" -l "$run_dir/postgres.log" -w -t 60 \
        -o "-p $pg_port -k $pgsock -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700" \
        start >/dev/null || {
        tail -n 20 "$run_dir/postgres.log" >&2
        die "PostgreSQL did not start"
    }
    admin=(as_owner "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pgsock" -p "$pg_port" -U postgres)
fi

# ---- the app user and database ----
"${admin[@]}" -d postgres <<'EOF'
SET password_encryption = 'scram-sha-256';
SELECT 'CREATE ROLE app LOGIN PASSWORD ''app'''
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app')\gexec
SELECT 'CREATE DATABASE app OWNER app'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'app')\gexec
EOF
secret=$("${admin[@]}" -d postgres -At -c \
    "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'" 2>/dev/null || true)
if [[ "$secret" != SCRAM-SHA-256\$* ]]; then
    echo "run.sh: cannot read app's SCRAM secret (not a superuser?); userlist gets the password"
    secret=app
fi

# ---- lifeguard's config ----
section=lifeguard
case "$(basename "$binary")" in *pgbouncer*) section=pgbouncer ;; esac
cat >"$ini" <<EOF
; written by scripts/run.sh
[databases]
app = host=$pg_host port=$pg_port dbname=app

[$section]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $run_dir
auth_type = scram-sha-256
auth_file = $userlist
default_pool_size = 20
max_client_conn = 200
pool_mode = session
ignore_startup_parameters = extra_float_digits
admin_users = postgres
EOF
printf '"app" "%s"\n' "$secret" >"$userlist"
chmod 600 "$userlist"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$ini" "$userlist"

say "starting $binary on 127.0.0.1:$port (log: $lglog)"
: >"$lglog"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$lglog"
if [ "$BUILD" = asan ]; then
    export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# not through the as_owner function: a backgrounded function is a subshell,
# and $! must be the pooler itself
if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$binary" "$ini" >>"$lglog" 2>&1 &
else
    "$binary" "$ini" >>"$lglog" 2>&1 &
fi
lg_pid=$!
for _ in $(seq 100); do
    port_accepts "$port" && break
    kill -0 "$lg_pid" 2>/dev/null || {
        cat "$lglog" >&2
        die "$(basename "$binary") exited during startup"
    }
    sleep 0.1
done
port_accepts "$port" || {
    cat "$lglog" >&2
    die "$(basename "$binary") is not listening on $port after 10 s"
}

# ---- a short benchmark through the pooler ----
if [ "$bench_t" != 0 ]; then
    export PGPASSWORD=app
    say "pgbench -i (through the pooler)"
    if timeout 300 "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U app -i -s 1 -q app \
        >"$run_dir/pgbench-init.log" 2>&1; then
        tail -n 2 "$run_dir/pgbench-init.log"
        say "pgbench -S -c 8 -j 2 -T $bench_t (through the pooler)"
        timeout $((bench_t + 60)) "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U app \
            -n -S -c 8 -j 2 -T "$bench_t" app 2>&1 | grep -vE '^pgbench \(' ||
            echo "run.sh: pgbench -S failed (see above and $lglog)" >&2
    else
        cat "$run_dir/pgbench-init.log" >&2
        echo "run.sh: pgbench -i failed; skipping the benchmark (see $lglog)" >&2
    fi
    unset PGPASSWORD
fi

say "$(basename "$binary") is running (pid $lg_pid). Connect with:"
echo "  psql \"host=127.0.0.1 port=$port dbname=app user=app password=app\""
echo "  psql \"host=$run_dir port=$port dbname=app user=app password=app\""
echo "log: $lglog   config: $ini"
say "Ctrl-C stops it"
set +e
wait "$lg_pid"
rc=$?
set -e
if [ "$rc" -lt 128 ]; then # it exited by itself (a trapped signal makes wait return >128)
    lg_pid=""
    echo "run.sh: $(basename "$binary") exited with status $rc; last log lines:" >&2
    tail -n 20 "$lglog" >&2
    exit "$rc"
fi
