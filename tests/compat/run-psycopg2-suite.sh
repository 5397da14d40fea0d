#!/usr/bin/env bash
# run-psycopg2-suite.sh: psycopg2's own test suite (its tests/ directory), run with Debian's
# /usr/bin/python3 and pytest against the INSTALLED psycopg2 (python3-psycopg2 2.9.5 on Debian
# 12, not a rebuild), once directly against a scratch PostgreSQL 15 and once per pool mode
# through lifeguard, then the tests that fail only through lifeguard. By hand only (not part of
# `make test`); it fetches nothing.
#
#   PSYCOPG2_SRC=/path/to/psycopg2-2.9.x tests/compat/run-psycopg2-suite.sh [MODE ...]
#
#   MODE: session, transaction, transaction-reset (transaction mode with
#     server_reset_query_always = 1: what a departed client left on a server is discarded, so
#     what still fails is not such a leak). Default: session transaction.
#   PSYCOPG2_SRC: an unpacked psycopg2 source tree (with tests/; it has lib/, not psycopg2/,
#     so `import psycopg2` finds the installed module).
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-psycopg2)  LG_PG_PORT=19480
#   LG_POOLER_PORT=19481  PYTEST_ARGS="-k 'not Notify'" (extra pytest arguments)
#   LG_INI_EXTRA="verbose = 1" (lines added to [lifeguard] of the ini)
#   PSYCOPG2_TEST_FAST=1 skips the tests upstream marks @slow (a few minutes less).
#
# The suite reads its DSN from PSYCOPG2_TESTDB, PSYCOPG2_TESTDB_HOST, PSYCOPG2_TESTDB_PORT,
# PSYCOPG2_TESTDB_USER (tests/testconfig.py); this sets them to psycopg2_test on 127.0.0.1 as
# postgres. The database is made afresh for each run with hstore (upstream's `make testdb`
# loads it too) and PostgreSQL runs with max_prepared_transactions=10 (the tpc tests).
# Replication tests stay skipped (PSYCOPG2_TEST_REPL_DSN unset, as upstream's default).
# Upstream runs the suite with unittest (`make check`); pytest runs the same TestCase classes
# and gives a per-test timeout (-o timeout=60) and test ids; the modules' test_suite()
# helper functions are not collected (-o python_functions=).
#
# How the suite was obtained (2026-11-27): Debian 12's source package (`apt-get source
# psycopg2` through apt_source_args) lists psycopg2_2.9.5.orig.tar.gz, but the archive
# mirror reachable here answers 404 for it (as for psycopg3's and asyncpg's); the same
# mirror does serve trixie's psycopg2_2.9.10.orig.tar.gz, got with `apt-get source
# --download-only psycopg2=2.9.10-1` and a deb-src list for trixie (apt checks its hash
# against trixie's Sources; the .dsc and the Debian diff are 404 there too, so apt-get exits
# non-zero after fetching the tarball):
#   mkdir -p /tmp/psy2src/lists/partial && cd /tmp/psy2src
#   printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: trixie' \
#     'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >trixie.sources
#   A=(-o Dir::Etc::SourceList=$PWD/trixie.sources -o Dir::Etc::SourceParts=/dev/null
#     -o Dir::State::Lists=$PWD/lists)
#   apt-get "${A[@]}" update; apt-get "${A[@]}" source --download-only psycopg2=2.9.10-1
#   tar xzf psycopg2_2.9.10.orig.tar.gz   # PSYCOPG2_SRC=/tmp/psy2src/psycopg2-2.9.10
# Its tests/ is used unchanged against the installed 2.9.5: 2.9.6 to 2.9.10 changed
# packaging, Python versions, notifications received at commit (#1728) and the PostgreSQL 17
# error codes; tests of those fail directly too and do not count against lifeguard.
#
# Needs root (PostgreSQL and the pooler run as postgres), /usr/bin/python3 with
# python3-psycopg2, python3-pytest, python3-pytest-timeout (Debian). Results:
# $LG_COMPAT_DIR/<direct|MODE>.txt (pytest output) and .failed (failing test ids).
#
# What to expect (2026-11-27, psycopg2 2.9.5 with 2.9.10's tests, 747 tests, PostgreSQL 15,
# about 3 minutes for all three runs):
#   direct 723 passed, 5 failed, 19 skipped; session the same; transaction 713 passed, 15
#   failed (with pin_temp_tables, at the temppin branch; before it 638-640 passed and 88-90
#   failed over three runs, the count moving with which server each test landed on).
#   Failing directly too (not lifeguard's): test_notify's test_notifies_received_on_commit,
#   _on_reset, _on_rollback, _on_set_client_encoding, _on_set_session (notifications read at
#   commit, #1728, is 2.9.10's). The 19 skipped: 10 replication, 9 for other PostgreSQL,
#   libpq or server features (lo64 absent, tpc unsupported, json absent, ...).
#   Session mode: none fail only through lifeguard.
#   Transaction mode, 10 only through lifeguard, all inherent to the mode
#   (docs/pooling-modes.md): the 8 LISTEN/NOTIFY and 2 backend pid tests below.
#   Before pin_temp_tables, 83-85 only through lifeguard:
#   - ~74 temporary tables (now the creating client keeps its server, which gets DISCARD
#     TEMP when it leaves; pin_temp_tables = 0 brings them back): the setUp of AsyncTests,
#     CancelTests, ExtrasDictCursor*Tests, NamedTupleCursorTest creates "table1",
#     "ExtrasDictCursorTests", "nttest" as TEMPORARY outside a transaction; the test's
#     connection closes without dropping it, so the next test's client lands on a server
#     that has it (DuplicateTable), or a temporary table1 hides the permanent one
#     DeadlockSerializationTests made (INSERT has more expressions). Each of them passes
#     when run alone through a freshly started lifeguard. With `transaction-reset` (DISCARD
#     ALL at each release) they failed the other way: the table made in autocommit was
#     gone at the next statement (UndefinedTable).
#   - 7-8 LISTEN/NOTIFY (test_notify, AsyncTests.test_notify: the notification goes to
#     whichever client holds the server, and a client holding none receives nothing while
#     idle).
#   - 2 backend pid as identity: TestConnectionInfo.test_backend_pid (the BackendKeyData pid
#     is lifeguard's own number, pg_backend_pid() the server's); CursorTests.
#     test_external_close_async (the control connection terminates the pid the victim read,
#     which is by then the server the control connection itself is on).
#   transaction-reset (before pin_temp_tables): 671 passed, 57 failed (the temporary
#   tables made in autocommit, LISTEN, backend pid, and the session characteristics
#   psycopg2 SETs in autocommit mode for default_transaction_isolation/_deferrable, which
#   DISCARD ALL resets).
#   Before the fix made with this runner (at 3034aa8), transaction mode failed 103-108
#   (620-625 passed): psycopg2's set_session(readonly=True) in autocommit mode is SET
#   default_transaction_read_only, which PostgreSQL 14+ reports but lifeguard did not track,
#   so it stayed on the server for the next client and 14 tests met "cannot execute CREATE
#   TABLE in a read-only transaction" (CopyTests, Psycopg2Tests, SqlFormatTests,
#   TransactionTests, SignalTestCase's subprocesses).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
src=${PSYCOPG2_SRC:?set PSYCOPG2_SRC to a psycopg2 source tree (with tests/)}
src=$(readlink -f "$src")
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-psycopg2}
pg_port=${LG_PG_PORT:-19480}
lg_port=${LG_POOLER_PORT:-19481}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-psycopg2-suite.sh: run as root" >&2; exit 1; }
[ -f "$src/tests/testconfig.py" ] || { echo "run-psycopg2-suite.sh: no tests/testconfig.py in $src" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-psycopg2-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
/usr/bin/python3 -c 'import psycopg2, pytest, pytest_timeout' ||
    { echo "run-psycopg2-suite.sh: apt-get install python3-psycopg2 python3-pytest python3-pytest-timeout" >&2; exit 1; }

start_scratch_pg -c max_prepared_transactions=10

run_suite() { # name port
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS psycopg2_test WITH (FORCE)" -c "CREATE DATABASE psycopg2_test"
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d psycopg2_test \
        -c "CREATE EXTENSION hstore"
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of arguments
    (cd "$src" && PSYCOPG2_TESTDB=psycopg2_test PSYCOPG2_TESTDB_HOST=127.0.0.1 \
        PSYCOPG2_TESTDB_PORT=$2 PSYCOPG2_TESTDB_USER=postgres \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider -o timeout=60 -o python_functions= \
        -rfEs ${PYTEST_ARGS:-} tests >"$work/$1.txt" 2>&1) || true
    grep -E '^(FAILED|ERROR) ' "$work/$1.txt" | sed 's/ - .*//' | sort -u >"$work/$1.failed" || true
    echo "$1: $(tail -n1 "$work/$1.txt")"
}

run_suite direct "$pg_port"
for mode in "${modes[@]}"; do
    write_pooler_ini "$work/run/$mode.ini" "${mode%-reset}" "$pg_port"
    [ "$mode" = "${mode%-reset}" ] || echo "server_reset_query_always = 1" >>"$work/run/$mode.ini"
    [ -z "${LG_INI_EXTRA:-}" ] || printf '%s\n' "$LG_INI_EXTRA" >>"$work/run/$mode.ini"
    start_pooler "$binary" "$work/run/$mode.ini" "$work/$mode.pooler.log"
    run_suite "$mode" "$lg_port"
    stop_pooler
done
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
