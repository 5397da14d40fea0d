#!/usr/bin/env bash
# run-pg-isolation.sh: two more of PostgreSQL 15's own suites through lifeguard, beside
# run-pg-regress.sh: the isolation tests (src/test/isolation, isolation_schedule, as
# `make installcheck` runs them: concurrent sessions, lock waits detected with
# pg_isolation_test_session_is_blocked() on each session's PQbackendPID(), prepared
# transactions, deadlocks, serialization failures) and libpq's pipeline-mode tests
# (src/test/modules/libpq_pipeline: pipelines with and without Sync, aborted pipelines,
# single-row mode, prepared statements, with libpq's protocol trace compared byte for byte
# with PostgreSQL's expected traces). Each runs once directly against a scratch PostgreSQL
# and once per pool mode through lifeguard. By hand only: not part of `make test`.
#
#   tests/compat/run-pg-isolation.sh [session|transaction ...]   (default: session transaction)
#
#   LG_BINARY=path      the pooler to test (default build/debug/lifeguard)
#   LG_COMPAT_DIR=dir   where run-pg-regress.sh keeps PostgreSQL's source (default
#                       /tmp/lg-compat); clusters in $LG_COMPAT_DIR/iso, results in
#                       $LG_COMPAT_DIR/iso-out
#   LG_PG_PORT=19400 LG_POOLER_PORT=19401
#
# Needs root (apt-get source, PostgreSQL and the pooler run as postgres), deb-src for
# bookworm (written under the work dir if apt has none), gcc and make (not bison or flex:
# the release tarball has the generated parsers).
#
# What to expect (2026-11-27, PostgreSQL 15.18, lifeguard at this commit; 110 s in all:
# about 32 s per isolation run, a few seconds per pipeline run):
#   isolation: direct 115/115; session 115/115. Transaction mode is not run: the suite
#     identifies each session by its backend pid and holds locks across statements, which
#     a transaction pooler does not keep (docs/pooling-modes.md).
#   libpq_pipeline: direct 11/11 with the 9 traces identical; session and transaction
#     11/11 with the 9 traces identical (each run on a fresh cluster: pipeline_abort and
#     transaction expect a "does not exist, skipping" NOTICE that a table left by an
#     earlier run would suppress).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
base=${LG_COMPAT_DIR:-/tmp/lg-compat}
work=$base/iso
pg_port=${LG_PG_PORT:-19400}
lg_port=${LG_POOLER_PORT:-19401}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$here/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-pg-isolation.sh: run as root" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-pg-isolation.sh: no pooler at $binary (make)" >&2; exit 1; }

# ---- PostgreSQL's source, libpq and the two test drivers ----
mkdir -p "$base"
pg_source "$base"
iso=$src/src/test/isolation
pipe=$src/src/test/modules/libpq_pipeline
if [ ! -x "$iso/isolationtester" ] || [ ! -x "$pipe/libpq_pipeline" ]; then
    (cd "$src" && { [ -f src/Makefile.global ] || ./configure --without-icu --without-readline \
        --prefix=/usr/lib/postgresql/15 >"$base/configure.log" 2>&1; } &&
        make -j2 -C src/interfaces/libpq >"$base/build-iso.log" 2>&1 &&
        make -j2 -C src/test/isolation >>"$base/build-iso.log" 2>&1 &&
        make -C src/test/modules/libpq_pipeline >>"$base/build-iso.log" 2>&1) || {
        echo "run-pg-isolation.sh: build failed; see $base/configure.log, $base/build-iso.log" >&2
        exit 1
    }
fi
chown -R postgres:postgres "$iso" "$pipe"

out_dir=$base/iso-out

# run_isolation NAME PORT: the isolation schedule; prints the summary line
run_isolation() {
    local out=$out_dir/$1-isolation
    mkdir -p "$out"
    chown postgres:postgres "$out"
    (cd "$iso" && timeout 900 "${asuser[@]}" ./pg_isolation_regress --inputdir=. \
        --bindir="$pgbin" --schedule=./isolation_schedule --host=127.0.0.1 --port="$2" \
        --user=postgres --outputdir="$out" >"$out.log" 2>&1) || true
    echo "$1 isolation: $(grep -E '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed)' \
        "$out.log" | tr -s ' ' | head -n1)"
}

# run_pipeline NAME PORT: every libpq_pipeline test, with its trace compared where upstream does
run_pipeline() {
    local out=$out_dir/$1-pipeline pass=0 total=0 t r
    mkdir -p "$out"
    chown postgres:postgres "$out"
    for t in $("$pipe/libpq_pipeline" tests); do
        total=$((total + 1))
        r=ok
        timeout 120 "${asuser[@]}" "$pipe/libpq_pipeline" -r 700 -t "$out/$t.trace" "$t" \
            "host=127.0.0.1 port=$2 dbname=postgres user=postgres" >"$out/$t.log" 2>&1 || r="FAILED"
        if [ "$r" = ok ] && [ -f "$pipe/traces/$t.trace" ] &&
            ! diff -u "$pipe/traces/$t.trace" "$out/$t.trace" >"$out/$t.trace.diff"; then
            r="trace differs ($out/$t.trace.diff)"
        fi
        [ "$r" = ok ] && pass=$((pass + 1)) || echo "$1 libpq_pipeline $t: $r"
    done
    echo "$1 libpq_pipeline: $pass of $total passed"
}

# with_cluster MODE FN: a fresh cluster (and pooler in MODE) for FN NAME PORT
with_cluster() {
    local port=$pg_port
    start_scratch_pg -c max_prepared_transactions=10
    if [ "$1" != direct ]; then
        write_pooler_ini "$work/$1.ini" "$1" "$pg_port"
        printf 'log_connections = 0\nlog_disconnections = 0\n' >>"$work/$1.ini"
        start_pooler "$binary" "$work/$1.ini" "$out_dir/$1.pooler.log"
        port=$lg_port
    fi
    "$2" "$1" "$port"
    [ -z "${pooler_pid:-}" ] || stop_pooler
    scratch_cleanup
}

rm -rf "$out_dir"
mkdir -p "$out_dir"
for mode in direct "${modes[@]}"; do
    with_cluster "$mode" run_pipeline
    # transaction mode: see the header
    [ "$mode" = transaction ] || with_cluster "$mode" run_isolation
done
echo "results: $out_dir/<MODE>-isolation/regression.diffs, $out_dir/<MODE>-pipeline/"
