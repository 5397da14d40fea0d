#!/usr/bin/env bash
# run-psycopg-suite.sh: psycopg 3's own test suite, once directly against a scratch
# PostgreSQL 15 and once per pool mode through lifeguard, then the tests that fail only
# through lifeguard. By hand only (not part of `make test`); it fetches nothing: point it
# at a psycopg source tree you have (its tests/ must match the installed psycopg, 3.1.x
# on Debian 12: `apt-get source psycopg3` where deb-src is reachable).
#
#   PSYCOPG_SRC=/path/to/psycopg tests/compat/run-psycopg-suite.sh [session|transaction ...]
#
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-psycopg)  LG_PG_PORT=19442
#   LG_POOLER_PORT=19443   PYTEST_ARGS="-k 'not pool'" (extra pytest arguments)
#
# Needs root (PostgreSQL and the pooler run as postgres), /usr/bin/python3 with
# python3-psycopg, python3-pytest, python3-pytest-timeout (a LISTEN test waits forever in
# transaction mode), python3-pytest-asyncio, python3-anyio (Debian). Results:
# $LG_COMPAT_DIR/<direct|MODE>.txt (pytest output) and .failed (failing test ids).
#
# What to expect (2026-11-27, psycopg 3.1.7 tests, PostgreSQL 15): session mode fails
# only where a test takes the backend pid for the connection's identity (a reused
# server keeps its pid; psycopg_pool's test_reset_badstate and friends, test_ctrl_c);
# transaction mode adds LISTEN/NOTIFY, pg_terminate_backend(backend_pid),
# pg_prepared_statements counts (lifeguard's statements of other clients are there) and
# temp tables (see docs/pooling-modes.md).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
src=${PSYCOPG_SRC:?set PSYCOPG_SRC to a psycopg source tree (with tests/)}
src=$(readlink -f "$src")
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-psycopg}
pg_port=${LG_PG_PORT:-19442}
lg_port=${LG_POOLER_PORT:-19443}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-psycopg-suite.sh: run as root" >&2; exit 1; }
[ -d "$src/tests" ] || { echo "run-psycopg-suite.sh: no tests/ in $src" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-psycopg-suite.sh: no pooler at $binary (make)" >&2; exit 1; }

start_scratch_pg -c max_prepared_transactions=10

run_suite() { # name port
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS psycopg_test WITH (FORCE)" -c "CREATE DATABASE psycopg_test"
    (cd "$src" && PSYCOPG_TEST_DSN="host=127.0.0.1 port=$2 user=postgres dbname=psycopg_test" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider -o timeout=60 -rfE ${PYTEST_ARGS:-} tests \
        >"$work/$1.txt" 2>&1) || true
    grep -E '^(FAILED|ERROR) ' "$work/$1.txt" | sed 's/ - .*//' | sort -u >"$work/$1.failed" || true
    echo "$1: $(tail -n1 "$work/$1.txt")"
}

run_direct_and_modes "${modes[@]}"
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
