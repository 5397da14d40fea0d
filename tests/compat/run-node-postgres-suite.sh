#!/usr/bin/env bash
# run-node-postgres-suite.sh: node-postgres's own integration tests (packages/pg/test/integration),
# once directly against a scratch PostgreSQL 15 and once per pool mode through lifeguard, then
# the files that fail only through lifeguard. By hand only (not part of `make test`); it
# fetches nothing. Upstream runs each file as `node test/integration/.../x-tests.js postgres://`
# (packages/pg/Makefile, test-integration), configured by PGHOST/PGPORT/PGUSER/PGDATABASE, after
# script/create-test-tables.js has made the `person` table; this does the same, per file, with
# a timeout (a file that waits forever for a NOTIFY must not stop the run).
#
#   NODEPG_SUITE=/path/to/pg tests/compat/run-node-postgres-suite.sh [session|transaction ...]
#
#   NODEPG_SUITE: a copy of node-postgres's packages/pg laid out as upstream: test/ (suite.js,
#     test-helper.js, cli.js, buffer-list.js, integration/**) and script/create-test-tables.js,
#     with lib/ resolving to the installed pg's lib (e.g. `ln -s ../node_modules/pg/lib lib`),
#     and async, co, pg-copy-streams, pg-cursor, pg-query-stream resolvable from there
#     (`npm install pg@8.23.1 async co pg-copy-streams pg-cursor pg-query-stream` in a parent).
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-nodepg)  LG_PG_PORT=19452
#   LG_POOLER_PORT=19453  NODEPG_TIMEOUT=seconds per file (default 60)
#   NODEPG_FILES="client/notice-tests.js ..." (paths under test/integration; default: every
#     *-tests.js there)
#
# How the suite was obtained (2026-11-27): the npm tarball of pg has no tests and GitHub is not
# reachable from the build machines, so test/ was copied file by file from a stored copy of
# brianc/node-postgres (packages/pg/test, the JavaScript `*-tests.js` files of the 8.x line, not
# the later TypeScript rewrite), under /tmp/nodepg/suite with npm's pg 8.23.1. Stored versions
# are not all of one commit; files whose stored version needs a newer pg fail directly too and
# so do not count against lifeguard.
#
# Needs root (PostgreSQL and the pooler run as postgres), node and npm. Results:
# $LG_COMPAT_DIR/<direct|MODE>/<file>.log (each file's output), $LG_COMPAT_DIR/<MODE>.failed.
#
# What to expect (2026-11-27, pg 8.23.1, PostgreSQL 15, 31 files copied: client/ 19,
# connection/ 2, connection-pool/ 1, gh-issues/ 9; big-simple-query-tests.js builds its long
# 'aaa...' literals with repeat(), connection/test-helper.js uses a TCP stream instead of the
# stored copy's websocket-stream, test-helper.js gained the later rejection() helper; files that
# only test a mock server, TypeScript files and pipeline-mode tests were not copied):
#   direct 28/31 pass, session 28/31, transaction 25/31 (session 7, with pin_temp_tables;
#   19-21/31 before it) (about 100 s for all three).
#   Failing directly too (not lifeguard's): client/cancel-tests.js and cancel-query-tests.js
#   (cancelActiveQuery/cancelQuery are newer than pg 8.23.1), gh-issues/2085-tests.js (needs SSL
#   on the server; set PGTESTNOSSL=1 to skip it).
#   Session mode: none fail only through lifeguard.
#   Transaction mode, inherent to the mode (docs/pooling-modes.md): before pin_temp_tables,
#   temporary tables that the next statement did not find or another client did
#   (client/error-handling, no-data, prepared-statement, query-error-handling, simple-query;
#   array-tests.js now and then); LISTEN/NOTIFY (client/notice-tests.js), pg_terminate_backend of idle backends or of the
#   pid the client read, which in transaction mode is a server it no longer holds
#   (connection-pool/error-tests.js; gh-issues/130-tests.js waits for an error until the
#   timeout).
#   Before the two fixes made with this runner (at c9d8dc7), both modes also failed
#   client/query-error-handling-prepared-statement-tests.js and connection-pool/error-tests.js
#   (lifeguard's 08006 ErrorResponse after the server's own FATAL 57P01) and
#   client/quick-disconnect-tests.js (08P01 answered to a Terminate sent before the startup
#   packet): session 25/31 then.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite=${NODEPG_SUITE:?set NODEPG_SUITE to a node-postgres packages/pg copy (with test/integration)}
suite=$(readlink -f "$suite")
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-nodepg}
pg_port=${LG_PG_PORT:-19452}
lg_port=${LG_POOLER_PORT:-19453}
per_file=${NODEPG_TIMEOUT:-60}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-node-postgres-suite.sh: run as root" >&2; exit 1; }
[ -d "$suite/test/integration" ] ||
    { echo "run-node-postgres-suite.sh: no test/integration in $suite" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-node-postgres-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
command -v node >/dev/null || { echo "run-node-postgres-suite.sh: no node" >&2; exit 1; }

files=()
if [ -n "${NODEPG_FILES:-}" ]; then
    read -r -a files <<<"$NODEPG_FILES"
else
    while IFS= read -r f; do files+=("$f"); done < <(cd "$suite/test/integration" &&
        find . -name '*-tests.js' | sed 's|^\./||' | LC_ALL=C sort)
fi

start_scratch_pg

run_suite() { # name port
    local name=$1 port=$2 f log rc pass=0 fail=0
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS nodepg_test WITH (FORCE)" -c "CREATE DATABASE nodepg_test"
    mkdir -p "$work/$name"
    : >"$work/$name.failed"
    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=nodepg_test PGPASSWORD=
    (cd "$suite" && node script/create-test-tables.js postgres:// >"$work/$name/create-test-tables.log" 2>&1) ||
        echo "$name: create-test-tables.js failed (see $work/$name/create-test-tables.log)"
    for f in "${files[@]}"; do
        log="$work/$name/$(echo "$f" | tr / _).log"
        rc=0
        (cd "$suite" && timeout -k 5 "$per_file" node "test/integration/$f" postgres:// >"$log" 2>&1) || rc=$?
        if [ "$rc" = 0 ]; then
            pass=$((pass + 1))
            printf '  %-12s pass  %s\n' "$name" "$f"
        else
            fail=$((fail + 1))
            [ "$rc" = 124 ] && echo "(timeout after ${per_file}s)" >>"$log"
            echo "$f" >>"$work/$name.failed"
            printf '  %-12s FAIL  %s (rc %s)\n' "$name" "$f" "$rc"
        fi
    done
    unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD
    sort -o "$work/$name.failed" "$work/$name.failed"
    echo "$name: $pass passed, $fail failed of ${#files[@]} files"
}

run_direct_and_modes "${modes[@]}"
for mode in direct "${modes[@]}"; do
    echo "$mode: $(wc -l <"$work/$mode.failed") failed"
done
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
