#!/usr/bin/env bash
# run-asyncpg-suite.sh: asyncpg's own test suite (tests/test_*.py), run with Debian's pytest
# against the INSTALLED asyncpg (python3-asyncpg 0.27 on Debian 12, not a rebuild), once
# directly against a scratch PostgreSQL 15 and once per mode through lifeguard, then the
# tests that fail only through lifeguard. By hand only (not part of `make test`); it fetches
# nothing.
#
#   ASYNCPG_SUITE=/path/to/asyncpg tests/compat/run-asyncpg-suite.sh [MODE ...]
#
#   MODE: session, transaction (asyncpg's defaults: every query a named prepared statement
#     from its statement cache), transaction-nocache (statement_cache_size=0, what operators
#     of transaction pooling are told to use; compared with a direct run that uses it too).
#     Default: session transaction transaction-nocache.
#   ASYNCPG_SUITE: a directory holding asyncpg's tests/ (test_*.py; no package of its own
#     is imported: the tests use the installed asyncpg and its asyncpg._testbase).
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-asyncpg)  LG_PG_PORT=19470
#   LG_POOLER_PORT=19471  PYTEST_ARGS="-k 'not listeners'" (extra pytest arguments)
#   LG_PG_OPTS="-c log_statement=all" (more PostgreSQL settings)
#   ASYNCPG_FILES="test_prepare.py ..." (default: every tests/test_*.py)
#
# How asyncpg's test base is pointed at an existing server (no patch to asyncpg): with PGHOST
# set, asyncpg._testbase._init_default_cluster() uses cluster.RunningCluster() instead of
# initdb-ing a TempCluster, and every connect()/create_pool() takes host, port, user and
# database from PGHOST/PGPORT/PGUSER/PGDATABASE. Tests that manage a cluster of their own
# (new_cluster(), add_hba_entry(), restarts; test_connect's SSL/auth/HBA classes) raise
# ClusterError or are skipped by the test base: they cannot run through any pooler and are
# listed below as inherent. The runner writes one file into the scratch copy,
# tests/conftest.py, which (only when ASYNCPG_TEST_STMT_CACHE is set, i.e. the *-nocache
# runs) wraps asyncpg.connect() so connections default to statement_cache_size=0; tests that
# pass their own statement_cache_size keep it.
#
# How the suite was obtained (2026-11-27): Debian's source package (`apt-get source asyncpg`
# through apt_source_args) lists asyncpg_0.27.0.orig.tar.gz, but the archive mirror
# reachable here answers 404 for it (as for psycopg3's), and PyPI/GitHub are not reachable,
# so tests/ was copied file by file from a stored copy of MagicStack/asyncpg (its newest
# stored versions, around 0.30-0.31, not the 0.27.0 tag): tests that use an API newer than
# 0.27 fail directly too and do not count against lifeguard. Some stored versions are older
# than Python 3.11: test_copy.py and test_listeners.py lost their loop= arguments (and
# @compat.aiter_compat), each copied file says at its top what was changed or left out;
# test_cancellation_executemany_01 is deselected (it hangs with 0.27, directly too).
#
# Needs root (PostgreSQL and the pooler run as postgres), /usr/bin/python3 with
# python3-asyncpg, python3-pytest, python3-pytest-timeout (Debian). Results:
# $LG_COMPAT_DIR/<direct|direct-nocache|MODE>.txt (pytest output) and .failed (failing ids).
#
# What to expect (2026-11-27, python3-asyncpg 0.27.0, PostgreSQL 15, 167 tests copied from
# 12 files: test_cache_invalidation, test_cancellation, test_connect (TestSettings only),
# test_copy, test_cursor, test_execute, test_introspection, test_listeners, test_pool,
# test_prepare, test_timeout (without TestCloseTimeoutPendingCancel), test_transaction;
# test_adversity is all skipped with PGHOST, the rest of test_connect manages clusters, and
# test_codecs/test_record barely touch the wire beyond what these do; about 25 min for all
# five runs on a loaded 2-core machine, 12 min on a quiet one):
#   direct 156 passed, 7 failed, 3 skipped; direct-nocache 148 passed, 15 failed;
#   session 156 passed, 7 failed, 1 error; transaction 150 passed, 13 failed, 1 error
#   (152 passed, 11 failed with the long-Parse fix of a3da4ba, lead's run);
#   transaction-nocache 143 passed, 20 failed, 1 error.
#   Failing directly too (asyncpg 0.27 against newer tests, or the test itself):
#   test_cache_invalidation ..._in_pool (2), test_cursor_02, test_executemany_returning,
#   test_execute_empty_script, test_execute_script_interrupted_by_server, test_pool_closing;
#   with statement_cache_size=0 also the tests of the cache itself (test_prepare_10/11/12/
#   24/25/27, test_introspection_no_stmt_cache_03, ..._invalidation_in_transaction).
#   Need control of the cluster (skipped by asyncpg's test base, inherent to any pooler):
#   TestPool::test_pool_auth, TestHotStandby::test_standby_pool_01, ::test_standby_cursors.
#   Session mode, inherent: TestIntrospection's tearDownClass (shown as an ERROR of its last
#   test) cannot DROP DATABASE asyncpg_intro_test while lifeguard keeps an idle server
#   connection to it (any pooler; KILL the database on the console first).
#   Transaction mode adds, inherent (docs/pooling-modes.md): LISTEN (test_listen_01/02),
#   pg_terminate_backend of the pid read in an earlier transaction
#   (test_pool_remote_close), SQL EXECUTE of a statement prepared at protocol level
#   (test_prepare_explicitly_named: the server knows it as lg_<n>). A named Parse larger
#   than the 16 KiB buffer (test_prepare_09_raise_error: 100 kB) got 54000 until a3da4ba;
#   the buffer now grows for it. test_executemany_server_failure_during_writes
#   is timing ("should stop early" before 128 writes): it fails directly too now and then.
#   lifeguard's "25P01 ... shared by two processes" warning shows up: asyncpg 0.27's
#   executemany sends ROLLBACK outside a transaction after a failure, directly too.
#   Fixed with this runner (51f5450): a statement re-prepared ahead of a Bind larger than
#   the buffer, or a Bind whose server name is longer than the client's, closed the client
#   with 54000 (tests/integration/test_asyncpg.py); the suite itself does not hit it (one
#   client at a time lands back on its own server), a two-client asyncpg run does.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite=${ASYNCPG_SUITE:?set ASYNCPG_SUITE to a directory holding asyncpg tests/}
suite=$(readlink -f "$suite")
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction transaction-nocache)
work=${LG_COMPAT_DIR:-/tmp/lg-asyncpg}
pg_port=${LG_PG_PORT:-19470}
lg_port=${LG_POOLER_PORT:-19471}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-asyncpg-suite.sh: run as root" >&2; exit 1; }
[ -d "$suite/tests" ] || { echo "run-asyncpg-suite.sh: no tests/ in $suite" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-asyncpg-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
/usr/bin/python3 -c 'import asyncpg, pytest, pytest_timeout' ||
    { echo "run-asyncpg-suite.sh: needs python3-asyncpg python3-pytest python3-pytest-timeout" >&2; exit 1; }
for mode in "${modes[@]}"; do
    case $mode in session | transaction | transaction-nocache) ;;
    *) echo "run-asyncpg-suite.sh: unknown mode $mode" >&2; exit 1 ;;
    esac
done

files=()
if [ -n "${ASYNCPG_FILES:-}" ]; then
    read -r -a files <<<"$ASYNCPG_FILES"
    files=("${files[@]/#/tests/}")
else
    files=(tests)
fi

# The only change to the copied suite: statement_cache_size=0 by default when asked.
cat >"$suite/tests/conftest.py" <<'EOF'
# Written by lifeguard's tests/compat/run-asyncpg-suite.sh (not part of asyncpg): with
# ASYNCPG_TEST_STMT_CACHE=N every asyncpg.connect() (so every test connection and pool
# connection) defaults to statement_cache_size=N.
import functools
import os

import asyncpg
import asyncpg.connection

_size = os.environ.get('ASYNCPG_TEST_STMT_CACHE')
if _size is not None:
    _connect = asyncpg.connection.connect

    @functools.wraps(_connect)
    async def connect(*args, **kwargs):
        kwargs.setdefault('statement_cache_size', int(_size))
        return await _connect(*args, **kwargs)

    asyncpg.connection.connect = connect
    asyncpg.connect = connect
EOF

# Newer than 0.27 and hangs with it even directly (0.27 does not stop executemany's write
# loop on cancel; pytest-timeout does not get it out of the event loop either).
deselect=(--deselect tests/test_cancellation.py::TestCancellation::test_cancellation_executemany_01)

# shellcheck disable=SC2086 # LG_PG_OPTS: extra "-c name=value" for PostgreSQL (e.g. log_statement=all)
start_scratch_pg -c max_prepared_transactions=10 -c jit=off ${LG_PG_OPTS:-}

run_suite() { # name port nocache
    local name=$1 port=$2 nocache=$3 db
    # A fresh "postgres" database and no other for each run: tests leave objects behind
    # when they fail (a function, testdb, asyncpg_intro_test), and would then fail the
    # next run for that reason alone.
    for db in $("${asuser[@]}" "$pgbin/psql" -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres \
        -d template1 -c "SELECT datname FROM pg_database WHERE NOT datistemplate"); do
        "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d template1 \
            -c "DROP DATABASE \"$db\" WITH (FORCE)"
    done
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d template1 \
        -c "CREATE DATABASE postgres"
    # shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
    (cd "$suite" && env PGHOST=127.0.0.1 PGPORT="$port" PGUSER=postgres PGDATABASE=postgres \
        ${nocache:+ASYNCPG_TEST_STMT_CACHE=0} \
        timeout -k 10 1800 /usr/bin/python3 -m pytest -q -p no:cacheprovider -p no:asyncio \
        -o timeout=120 --tb=native -rfEs "${deselect[@]}" ${PYTEST_ARGS:-} "${files[@]}" \
        >"$work/$name.txt" 2>&1) || true
    grep -E '^(FAILED|ERROR) ' "$work/$name.txt" | sed 's/ - .*//' | sort -u >"$work/$name.failed" || true
    echo "$name: $(tail -n1 "$work/$name.txt")"
}

run_suite direct "$pg_port" ""
case " ${modes[*]} " in *" transaction-nocache "*) run_suite direct-nocache "$pg_port" 1 ;; esac
for mode in "${modes[@]}"; do
    nocache=
    base=direct
    [ "$mode" = transaction-nocache ] && nocache=1 && base=direct-nocache
    write_pooler_ini "$work/run/$mode.ini" "${mode%-nocache}" "$pg_port"
    start_pooler "$binary" "$work/run/$mode.ini" "$work/$mode.pooler.log"
    run_suite "$mode" "$lg_port" "$nocache"
    stop_pooler
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/$base.failed" "$work/$mode.failed" | sed 's/^/  /'
done
