#!/usr/bin/env bash
# run-go-suite.sh: the Go PostgreSQL drivers' own test suites (jackc/pgx v4 with its stdlib and
# pgxpool packages, jackc/pgconn, lib/pq), once directly against a scratch PostgreSQL 15 and
# once per pool mode through lifeguard, then the tests that fail only through lifeguard.
# By hand only (not part of `make test`); it fetches nothing.
#
#   tests/compat/run-go-suite.sh [session|transaction ...]        (default: both)
#
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-go; emptied)  LG_PG_PORT=19460
#   LG_POOLER_PORT=19461  GO_SUITE_BUILD=dir (GOPATH copy, go cache and test binaries; default
#   /tmp/lg-go-build, kept between runs)  GO_SUITE_TIMEOUT=go test -timeout per package (120s)
#   GO_SUITE_PKGS="pgx pgx-stdlib pgx-pgxpool pgconn pq" (default: all five)
#   GO_SUITE_RUN=regexp (go test -run, e.g. '^TestConnCopyFrom')
#
# How the suites were obtained: Debian 12's source packages for Go, installed with
#   apt-get install golang-go golang-github-jackc-pgx-v4-dev golang-github-lib-pq-dev \
#       golang-github-jackc-pgmock-dev golang-github-masterminds-semver-dev
# (go 1.19.8, pgx 4.15.0, pgconn 1.11.0, pgproto3 2.2.0, pgtype 1.10.0, lib/pq 1.10.7; pgmock is
# what pgconn's tests import, semver what pgx/stdlib's import). /usr/share/gocode/src is copied
# to a GOPATH (GO111MODULE=off, GOPROXY=off: nothing is downloaded), semver is also laid out
# as .../semver/v3 (the import path pgx/stdlib's tests use), and each package's tests are
# compiled once (`go test -c`) and run three times from the package's source directory,
# `-test.v` through `go tool test2json` (what `go test -json` does).
#
# Setup, as upstream's testsetup/postgresql_setup.sql minus the password users: databases
# pgx_test (with `create extension hstore` and `create domain uint64 as numeric(20,0)`) and
# pqgotest. Environment: PGX_TEST_DATABASE, PGX_TEST_CONN_STRING, PGX_TEST_TCP_CONN_STRING and
# PGX_TEST_PGBOUNCER_CONN_STRING all `host=127.0.0.1 port=PORT user=postgres
# database=pgx_test`; lib/pq gets PGHOST/PGPORT/PGUSER=postgres/PGDATABASE=pqgotest/
# PGSSLMODE=disable. Tests that need TLS, a Unix socket, password users, CrateDB or
# replication skip themselves (counted as skips).
#
# Needs root (PostgreSQL and the pooler run as postgres), golang-go and the packages above.
# Results: $LG_COMPAT_DIR/<direct|MODE>/<pkg>.json (test2json), <pkg>.results ("pass|fail|skip
# Test/Sub" per line), $LG_COMPAT_DIR/<MODE>.failed (failed or not run, as pkg:Test).
#
# What to expect (2026-11-27, PostgreSQL 15; counts are tests and subtests, "failed" includes
# tests a timed-out binary never finished; about 6 minutes for all three):
#   direct 685 passed, 3 failed, 13 skipped; session 679/9/13; transaction 666/18/13
#   (session 8, with pin_temp_tables and server_affinity; 667/17 in session 7; about 596/88/13
#   before pin_temp_tables).
#   Failing directly too: pgconn TestParseConfig and TestParseConfigReadsPgServiceFile
#   (expect a Unix-socket default and a service file), pq TestHasCorrectRootGroupPermissions
#   (run as root); now and then pq TestContextCancelExec (a timing race of its own).
#   Session mode, 5 top-level tests (backend pid as identity: a pooled server outlives its
#   client, rolled back and reset, so the pid a test expects gone or new comes back; timing
#   decides, so from 0 to 5): pgconn TestConnContextCanceledCancelsRunningQueryOnServer,
#   pgxpool TestConnReleaseClosesConnInTransaction, ...InFailedTransaction,
#   TestPoolAfterRelease, pgx/stdlib TestReleaseConnWithTxInProgress.
#   Transaction mode, 15 top-level tests only through lifeguard, all inherent to the mode
#   (docs/pooling-modes.md): 12 LISTEN/NOTIFY (pgconn TestConnOnNotification since
#   server_affinity: its notifier gets the listener's parked server; pgx TestListenNotify and pgconn
#   TestConnWaitForNotification wait forever, so their binaries end at GO_SUITE_TIMEOUT;
#   pq's Listener and Conn*Listen tests time out); 3 pg_terminate_backend of the client's own
#   pid (pgx TestFatalRxError, TestFatalTxError, pq TestPing). Before pin_temp_tables (a
#   client that creates a temporary table keeps its server) about 54 more: temporary tables
#   that the next transaction did not find or that shadowed another client's tables (most
#   CopyFrom, batch, Tx and Insert* tests of pgx, pgx/stdlib's Exec and Tx tests, pgconn's
#   Copy* and Exec*DeferredError, pq's Copy*, TestCommit, TestRowsResultTag). Two named
#   statements larger than the buffer (pgconn TestConnExecPreparedMaxNumberOfParams,
#   ...TooManyParams) got 54000 until session 6 grew the buffer for them.
#   Before the fixes made with this runner (main at de82831): transaction 576/108, 91
#   lifeguard-only: also 20-odd lib/pq tests binding the unnamed statement after its Sync
#   (26000, or another client's statement), pgconn TestConnExecBatchHuge (54000 past 4,096
#   owed responses, and the server then handed on mid-batch to the next clients), pgx
#   TestPrepareIdempotency (a second Parse of a name accepted), pq TestRuntimeParameters
#   (options won over a startup parameter) and stray 57014 from other tests' late cancels.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-go}
build=${GO_SUITE_BUILD:-/tmp/lg-go-build}
pg_port=${LG_PG_PORT:-19460}
lg_port=${LG_POOLER_PORT:-19461}
pkg_timeout=${GO_SUITE_TIMEOUT:-120s}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

declare -A import=(
    [pgx]=github.com/jackc/pgx/v4
    [pgx-stdlib]=github.com/jackc/pgx/v4/stdlib
    [pgx-pgxpool]=github.com/jackc/pgx/v4/pgxpool
    [pgconn]=github.com/jackc/pgconn
    [pq]=github.com/lib/pq
)
read -r -a pkgs <<<"${GO_SUITE_PKGS:-pgx pgx-stdlib pgx-pgxpool pgconn pq}"

[ "$(id -u)" = 0 ] || { echo "run-go-suite.sh: run as root" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-go-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
command -v go >/dev/null || { echo "run-go-suite.sh: no go (apt-get install golang-go)" >&2; exit 1; }
for d in jackc/pgx/v4 jackc/pgconn jackc/pgmock lib/pq Masterminds/semver; do
    [ -d "/usr/share/gocode/src/github.com/$d" ] ||
        { echo "run-go-suite.sh: no /usr/share/gocode/src/github.com/$d (see the header)" >&2; exit 1; }
done

# Build: a private GOPATH, offline; the test binaries are rebuilt only when missing.
export GOPATH=$build/gopath GOCACHE=$build/cache GO111MODULE=off GOPROXY=off GOFLAGS='' GOTOOLCHAIN=local
if [ ! -d "$GOPATH/src" ]; then
    mkdir -p "$GOPATH"
    cp -a /usr/share/gocode/src "$GOPATH/"
    semver=$GOPATH/src/github.com/Masterminds/semver
    mkdir -p "$semver/v3"
    find "$semver" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$semver/v3/" \;
fi
mkdir -p "$build/bin"
for p in "${pkgs[@]}"; do
    [ -n "${import[$p]:-}" ] || { echo "run-go-suite.sh: unknown package $p" >&2; exit 1; }
    [ -x "$build/bin/$p.test" ] || go test -c -o "$build/bin/$p.test" "${import[$p]}"
done
chmod -R a+rX "$build"

start_scratch_pg

run_suite() { # name port
    local name=$1 port=$2 p conn rc pass fail skip dir
    "${asuser[@]}" "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS pgx_test WITH (FORCE)" -c "CREATE DATABASE pgx_test" \
        -c "DROP DATABASE IF EXISTS pqgotest WITH (FORCE)" -c "CREATE DATABASE pqgotest"
    "${asuser[@]}" "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d pgx_test \
        -c "CREATE EXTENSION hstore" -c "CREATE DOMAIN uint64 AS numeric(20,0)"
    mkdir -p "$work/$name"
    : >"$work/$name.failed"
    conn="host=127.0.0.1 port=$port user=postgres database=pgx_test"
    for p in "${pkgs[@]}"; do
        dir=$GOPATH/src/${import[$p]}
        rc=0
        (cd "$dir" && env PGX_TEST_DATABASE="$conn" PGX_TEST_CONN_STRING="$conn" \
            PGX_TEST_TCP_CONN_STRING="$conn" PGX_TEST_PGBOUNCER_CONN_STRING="$conn" \
            PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=pqgotest PGSSLMODE=disable \
            PGPASSWORD= go tool test2json -t -p "$p" "$build/bin/$p.test" -test.v \
            -test.count=1 -test.timeout "$pkg_timeout" ${GO_SUITE_RUN:+-test.run "$GO_SUITE_RUN"} \
            >"$work/$name/$p.json" 2>"$work/$name/$p.stderr") || rc=$?
        # One line per test and subtest that ended; a test that started and never ended, or
        # a listed test that never started (the binary panicked or timed out), counts as
        # failed, and is named in <pkg>.notrun.
        "$build/bin/$p.test" -test.list "${GO_SUITE_RUN:-.}" | grep '^Test' >"$work/$name/$p.list" || true
        # The "--- PASS: T" lines are believed over test2json's events, which blame the
        # test that printed last for a later panic.
        jq -r 'select(.Test != null) | "\(.Action) \(.Test)",
                 (select(.Action == "output") | .Output |
                  capture("^ *--- (?<r>PASS|FAIL|SKIP): (?<t>[^ ]+) ") | "report-\(.r) \(.t)")' \
            "$work/$name/$p.json" |
            awk -v list="$work/$name/$p.list" -v notrun="$work/$name/$p.notrun" '
                $1 == "run" && !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
                ($1 == "pass" || $1 == "fail" || $1 == "skip") && !($2 in rep) { res[$2] = $1 }
                $1 ~ /^report-/ { rep[$2] = 1; res[$2] = tolower(substr($1, 8)) }
                END {
                    printf "" >notrun
                    for (i = 1; i <= n; i++) {
                        if (!(order[i] in res)) print order[i] >notrun
                        print (order[i] in res ? res[order[i]] : "fail"), order[i]
                    }
                    while ((getline t <list) > 0)
                        if (!(t in seen)) { print t >notrun; print "fail", t }
                }' >"$work/$name/$p.results"
        pass=$(grep -c '^pass ' "$work/$name/$p.results" || true)
        fail=$(grep -c '^fail ' "$work/$name/$p.results" || true)
        skip=$(grep -c '^skip ' "$work/$name/$p.results" || true)
        awk -v p="$p" '$1 == "fail" { print p ":" $2 }' "$work/$name/$p.results" >>"$work/$name.failed"
        printf '  %-12s %-12s %4d passed, %3d failed, %3d skipped (exit %s%s)\n' "$name" "$p" "$pass" "$fail" \
            "$skip" "$rc" "$([ -s "$work/$name/$p.notrun" ] && echo "; $(wc -l <"$work/$name/$p.notrun") never ended")"
    done
    sort -o "$work/$name.failed" "$work/$name.failed"
}

run_direct_and_modes "${modes[@]}"
for mode in direct "${modes[@]}"; do
    echo "$mode: $(cat "$work/$mode"/*.results | grep -c '^pass ') passed, $(wc -l <"$work/$mode.failed") failed, $(cat "$work/$mode"/*.results | grep -c '^skip ') skipped"
done
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
