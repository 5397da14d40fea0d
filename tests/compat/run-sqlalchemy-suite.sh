#!/usr/bin/env bash
# run-sqlalchemy-suite.sh: SQLAlchemy's own tests for PostgreSQL (psycopg2 and asyncpg), once
# directly against a scratch PostgreSQL 15 and once per pool mode through lifeguard, then the
# tests that fail only through lifeguard. By hand only (not part of `make test`).
#
#   tests/compat/run-sqlalchemy-suite.sh [direct] [session] [transaction] [TEST_PATH ...]
#
#   Modes: any of direct/session/transaction (default all three). The pooled runs are
#     compared with the direct run of the same invocation, so name direct with them.
#   TEST_PATH: pytest node ids relative to the suite directory (default: every test there),
#     e.g. test/test_pooled.py test/test_suite.py::ServerSideCursorsTest
#   SQLA_SRC=dir: an upstream SQLAlchemy 1.4.46 source tree (setup.cfg, test/) to run instead,
#     with its own conftest and requirements; default paths then test/dialect/postgresql
#     test/engine test/sql (not tried: no such tree could be had, see below).
#   SQLA_DRIVERS="psycopg2 asyncpg" (default: both when python3-asyncpg imports)
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-sqla)  LG_PG_PORT=19480
#   LG_POOLER_PORT=19481  SQLA_TEST_TIMEOUT=seconds per test (120)
#   SQLA_RUN_TIMEOUT=seconds per pytest run (1800)  PYTEST_ARGS="-k ..." (extra arguments)
#   LG_INI_EXTRA="server_reset_query_always = 1" (lines added to [lifeguard] of the ini)
#
# How the suite was obtained (2026-11-27): Debian 12's source package sqlalchemy
# 1.4.46+ds1-1 (`apt-get source sqlalchemy` through apt_source_args) has its .dsc and
# .debian.tar.xz in the archive, but its orig tarball (upstream's test/, setup.cfg) answers
# 404, and the stored copies of upstream's test/ are of mixed releases (a 1.3 test_transaction,
# a 1.4 test_dialect), not 1.4.46. So by default this runs what the installed
# python3-sqlalchemy 1.4.46 itself ships, sqlalchemy.testing.suite (the dialect compliance
# suite: reflection, types, SELECT/INSERT/UPDATE/DELETE, executemany, server-side cursors,
# isolation levels and AUTOCOMMIT, sequences, CTEs, rowcount, DDL), under SQLAlchemy's own
# pytest plugin and `--dburi`, as third-party dialects run it (tests/compat/sqlalchemy:
# conftest.py, setup.cfg, requirements.py opening what PostgreSQL supports), plus
# test/test_pooled.py, written here with SQLAlchemy's fixtures for what the compliance suite
# does not reach: pool_pre_ping after the server was terminated, named cursors (DECLARE ...
# FETCH) read in steps between other statements, two-phase commit and recovery, isolation
# levels and SET SESSION CHARACTERISTICS, psycopg2 execute_values/execute_batch with small
# pages, savepoints, and the ORM Session (begin_nested, yield_per, twophase=True). No
# test/orm, test/engine or test/sql: they are not installed. The scratch cluster has the
# `test` database with schemas test_schema and test_schema_2 (upstream README.unittests.rst),
# recreated before each run, and max_prepared_transactions = 20.
#
# Needs root (PostgreSQL and the pooler run as postgres), /usr/bin/python3 with Debian's
# python3-sqlalchemy, python3-pytest, python3-pytest-timeout, python3-psycopg2, and for the
# asyncpg runs python3-asyncpg and python3-greenlet. Results: $LG_COMPAT_DIR/<MODE>-<driver>.txt
# (pytest output), .failed (failing test ids), <MODE>.pooler.log.
#
# What to expect (2026-11-27 at 7bfa3a0; SQLAlchemy 1.4.46, psycopg2 2.9.5, asyncpg 0.27.0,
# pytest 7.2.1, PostgreSQL 15): 629 tests for psycopg2 (593 run, 36 skipped as PostgreSQL
# lacks the feature), 629 for asyncpg (590 run); 8 to 40 s per run, about 2.5 minutes for all
# six. direct 593/593 and 590/590 pass, session the same, transaction 591/593 and 588/590.
#   Failing only in transaction mode, inherent to it (docs/pooling-modes.md): test_pooled's
#   IsolationLevelTest.test_session_characteristics_not_seen_by_other_connections (the SET
#   stays on the server for the next client) and ..._kept_by_their_connection (the client's
#   next transaction runs on another server). SQLAlchemy's own isolation_level for psycopg2
#   and asyncpg goes in BEGIN and passes. The compliance suite's temporary-table tests pass
#   in transaction mode only because one client at a time gets the same server back.
#   LG_INI_EXTRA="server_reset_query_always = 1" (DISCARD ALL at every release): the leak test
#   passes, the kept test still fails, and the four temporary-table tests
#   (test_get_temp_table_columns/_indexes/_unique_constraints, test_has_table_temp_table)
#   fail per driver: 5 failures each.
#   Fixed with this runner: asyncpg's executemany pipelines on a server without the statement
#   (test_two_streams_at_once, with server_reset_query_always) lost the client with 54000
#   (7bfa3a0); every two-phase commit logged a bogus "PREPARE in transaction pooling mode"
#   warning (3b1d655).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
modes=()
paths=()
for a in "$@"; do
    case $a in
    direct | session | transaction) modes+=("$a") ;;
    *) paths+=("$a") ;;
    esac
done
[ ${#modes[@]} -gt 0 ] || modes=(direct session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-sqla}
pg_port=${LG_PG_PORT:-19480}
lg_port=${LG_POOLER_PORT:-19481}
per_test=${SQLA_TEST_TIMEOUT:-120}
per_run=${SQLA_RUN_TIMEOUT:-1800}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
py=/usr/bin/python3
# shellcheck source=tests/compat/pooler.sh
source "$here/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-sqlalchemy-suite.sh: run as root" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-sqlalchemy-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
$py -c 'import sqlalchemy, pytest, pytest_timeout, psycopg2' 2>/dev/null || {
    echo "run-sqlalchemy-suite.sh: apt-get install python3-sqlalchemy python3-pytest" \
        "python3-pytest-timeout python3-psycopg2" >&2
    exit 1
}
if [ -n "${SQLA_SRC:-}" ]; then
    suite=$(readlink -f "$SQLA_SRC")
    [ -d "$suite/test" ] || { echo "run-sqlalchemy-suite.sh: no test/ in $suite" >&2; exit 1; }
    [ ${#paths[@]} -gt 0 ] || paths=(test/dialect/postgresql test/engine test/sql)
else
    suite=$here/sqlalchemy
    [ ${#paths[@]} -gt 0 ] || paths=(test)
fi
if [ -n "${SQLA_DRIVERS:-}" ]; then
    read -r -a drivers <<<"$SQLA_DRIVERS"
elif $py -c 'import asyncpg, greenlet' 2>/dev/null; then
    drivers=(psycopg2 asyncpg)
else
    drivers=(psycopg2)
fi

start_scratch_pg -c max_prepared_transactions=20

psql_pg() { "${asuser[@]}" "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }

run_suite() { # name port driver
    local name=$1-$3 rc=0
    psql_pg -d postgres -c "DROP DATABASE IF EXISTS test WITH (FORCE)" -c "CREATE DATABASE test"
    psql_pg -d test -c "CREATE SCHEMA test_schema" -c "CREATE SCHEMA test_schema_2"
    # a prepared transaction left by an interrupted run would hold its locks
    psql_pg -d postgres -At -c "SELECT gid FROM pg_prepared_xacts" | while read -r gid; do
        psql_pg -d test -c "ROLLBACK PREPARED '$gid'" || true
    done
    # shellcheck disable=SC2086 # PYTEST_ARGS is a word list
    (cd "$suite" && timeout -k 10 "$per_run" $py -m pytest -p no:cacheprovider \
        -o timeout="$per_test" -rfE --dburi "postgresql+$3://postgres@127.0.0.1:$2/test" \
        ${PYTEST_ARGS:-} "${paths[@]}" >"$work/$name.txt" 2>&1) || rc=$?
    [ "$rc" = 124 ] && echo "(run stopped after ${per_run}s)" >>"$work/$name.txt"
    grep -E '^(FAILED|ERROR) ' "$work/$name.txt" | sed 's/ - .*//' | sort -u >"$work/$name.failed" || true
    echo "$name: $(grep -E '^=+ .*(passed|failed|error).* in ' "$work/$name.txt" | tail -n1 || echo "rc $rc, no summary")"
}

for mode in "${modes[@]}"; do
    if [ "$mode" = direct ]; then
        port=$pg_port
    else
        write_pooler_ini "$work/run/$mode.ini" "$mode" "$pg_port"
        [ -z "${LG_INI_EXTRA:-}" ] || printf '%s\n' "$LG_INI_EXTRA" >>"$work/run/$mode.ini"
        start_pooler "$binary" "$work/run/$mode.ini" "$work/$mode.pooler.log"
        port=$lg_port
    fi
    for d in "${drivers[@]}"; do
        run_suite "$mode" "$port" "$d"
    done
    [ "$mode" = direct ] || stop_pooler
done
for mode in "${modes[@]}"; do
    [ "$mode" != direct ] || continue
    for d in "${drivers[@]}"; do
        [ -f "$work/direct-$d.failed" ] || continue
        echo "$mode-$d: failing only through the pooler:"
        comm -13 "$work/direct-$d.failed" "$work/$mode-$d.failed" | sed 's/^/  /'
    done
done
