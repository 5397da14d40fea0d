#!/usr/bin/env bash
# run-pg-regress.sh: PostgreSQL 15's own regression suite (src/test/regress, parallel
# schedule, as `make installcheck-parallel` runs it), once directly against a scratch
# PostgreSQL and once through lifeguard, then the list of tests that fail only through
# lifeguard. By hand only: not part of `make test` (it downloads and builds PostgreSQL's
# test driver, and takes a few minutes on two cores).
#
#   tests/compat/run-pg-regress.sh [session|transaction|statement ...]   (default: session)
#
#   LG_BINARY=path      the pooler to test (default build/debug/lifeguard; PgBouncer works too)
#   LG_COMPAT_DIR=dir   work dir (default /tmp/lg-compat); the PostgreSQL source is kept
#                       there between runs, the cluster and results are made anew
#   LG_PG_PORT=25432 LG_POOLER_PORT=26432   ports (below the ephemeral range)
#
# Needs root (apt-get source, then PostgreSQL and the pooler run as postgres), deb-src
# for bookworm (a sources file is written under the work dir if apt has none), gcc and
# make. Results: $LG_COMPAT_DIR/out/<direct|MODE>/regression.diffs.
#
# What to expect (lifeguard, session mode, PostgreSQL 15.18): 217 tests; direct: all
# pass; through lifeguard 3 fail, for these reasons:
#   guc (the plpgsql hunk): plpgsql was already loaded in the reused backend.
#   temp: `\c -` gets the same backend back, its temp namespace already exists (so the
#     PREPARE TRANSACTION fails for another reason first).
#   stats: pg_stat_database.sessions does not grow when `\c` reuses a backend.
# They are what any pooler that reuses backends shows. date, timestamp, timestamptz,
# horology and guc's first hunk (pg_regress's PGDATESTYLE/PGTZ, `RESET datestyle`) pass
# since a session-mode server is opened with its client's startup parameters
# (session_startup_parameters; test_compat.py::test_reset_returns_to_startup_value);
# session_startup_parameters = 0 brings back the old behaviour, and those failures.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session)
work=${LG_COMPAT_DIR:-/tmp/lg-compat}
pg_port=${LG_PG_PORT:-25432}
lg_port=${LG_POOLER_PORT:-26432}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-pg-regress.sh: run as root" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-pg-regress.sh: no pooler at $binary (make)" >&2; exit 1; }
[ -x "$pgbin/postgres" ] || { echo "run-pg-regress.sh: PostgreSQL 15 is not installed" >&2; exit 1; }
mkdir -p "$work"

# ---- PostgreSQL's source and its test driver ----
pg_source "$work"
if [ ! -x "$src/src/test/regress/pg_regress" ] || [ ! -f "$src/src/test/regress/regress.so" ]; then
    (cd "$src" && ./configure --without-icu --without-readline --prefix=/usr/lib/postgresql/15 \
        >"$work/configure.log" 2>&1 && make -j2 -C src/test/regress >"$work/build.log" 2>&1) || {
        echo "run-pg-regress.sh: building pg_regress failed; see $work/configure.log, $work/build.log" >&2
        exit 1
    }
fi
chown -R postgres:postgres "$src"
regress=$src/src/test/regress

# ---- a scratch cluster (fresh each run: the suite leaves roles behind when it fails) ----
pgdata=$work/data
pooler_pid=
cleanup() {
    [ -n "$pooler_pid" ] && kill "$pooler_pid" 2>/dev/null && wait "$pooler_pid" 2>/dev/null || true
    [ -f "$pgdata/postmaster.pid" ] && "${asuser[@]}" "$pgbin/pg_ctl" -D "$pgdata" stop -m fast >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$pgdata" "$work/out" "$work/run"
mkdir -p "$work/out" "$work/run"
chown postgres:postgres "$work" "$work/out" "$work/run"
"${asuser[@]}" "$pgbin/initdb" -D "$pgdata" -A trust -U postgres >"$work/initdb.log" 2>&1
"${asuser[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w \
    -o "-p $pg_port -k $work/run -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null

run_suite() { # name port
    mkdir -p "$work/out/$1"
    chown postgres:postgres "$work/out/$1"
    (cd "$regress" && "${asuser[@]}" ./pg_regress --inputdir=. --bindir="$pgbin" --dlpath=. \
        --max-concurrent-tests=20 --schedule=./parallel_schedule --host=127.0.0.1 \
        --port="$2" --user=postgres --outputdir="$work/out/$1" >"$work/out/$1.log" 2>&1) || true
    sed -n 's/^ *\(test \)\?\([a-z0-9_.]*\) *\.\.\. FAILED.*/\2/p' "$work/out/$1.log" | sort -u \
        >"$work/out/$1.failed"
    local summary
    summary=$(grep -E '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed)' "$work/out/$1.log" | tr -s ' ' | head -n1)
    echo "$1: ${summary:-no summary (see $work/out/$1.log)}"
}

# Globals the suite creates (roles, tablespaces) would make the next run fail: drop them.
reset_cluster() {
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -v ON_ERROR_STOP=0 >/dev/null 2>&1 <<'EOF' || true
DO $$ DECLARE s text; BEGIN
  FOR s IN SELECT subname FROM pg_subscription LOOP
    EXECUTE format('ALTER SUBSCRIPTION %I DISABLE', s);
    EXECUTE format('ALTER SUBSCRIPTION %I SET (slot_name = NONE)', s);
    EXECUTE format('DROP SUBSCRIPTION %I', s);
  END LOOP; END $$;
DROP DATABASE IF EXISTS regression WITH (FORCE);
DO $$ DECLARE r text; BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'regress\_%' LOOP
    BEGIN
      EXECUTE format('DROP ROLE %I', r);
    EXCEPTION WHEN others THEN RAISE NOTICE 'kept role %: %', r, SQLERRM;
    END;
  END LOOP; END $$;
EOF
}

run_suite direct "$pg_port"

for mode in "${modes[@]}"; do
    reset_cluster
    ini=$work/run/$mode.ini
    cat >"$ini" <<EOF
[databases]
* = host=127.0.0.1 port=$pg_port

[lifeguard]
listen_addr = 127.0.0.1
listen_port = $lg_port
unix_socket_dir = $work/run
auth_type = trust
auth_file = $work/run/userlist.txt
pool_mode = $mode
default_pool_size = 60
max_client_conn = 500
log_connections = 0
log_disconnections = 0
EOF
    echo '"postgres" ""' >"$work/run/userlist.txt"
    if [[ $(basename "$binary") == *pgbouncer* ]]; then
        sed -i 's/^\[lifeguard\]/[pgbouncer]/' "$ini"
        echo 'ignore_startup_parameters = options' >>"$ini" # PgBouncer 1.18 refuses PGOPTIONS
    fi
    chown postgres:postgres "$ini" "$work/run/userlist.txt"
    start_pooler "$binary" "$ini" "$work/out/$mode.pooler.log"
    run_suite "$mode" "$lg_port"
    stop_pooler
    only=$(comm -13 "$work/out/direct.failed" "$work/out/$mode.failed" | tr '\n' ' ')
    echo "$mode: failing only through the pooler: ${only:-none}"
done
echo "diffs: $work/out/<direct|MODE>/regression.diffs; pooler logs: $work/out/MODE.pooler.log"
