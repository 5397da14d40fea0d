#!/usr/bin/env bash
# run-pgjdbc-suite.sh: what Java applications do with pgjdbc (PostgreSQL's JDBC driver),
# as the checks of tests/compat/pgjdbc/PoolerCheck.java, once directly against a scratch
# PostgreSQL 15 and once per pool mode through lifeguard, then the checks that fail only
# through lifeguard. By hand only (not part of `make test`); it fetches nothing.
#
#   tests/compat/run-pgjdbc-suite.sh [session|transaction ...]        (default: both)
#
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-pgjdbc; emptied)  LG_PG_PORT=19500
#   LG_POOLER_PORT=19501  PGJDBC_JAR=path (default /usr/share/java/postgresql.jar)
#   PGJDBC_CHECKS="name ..." (default: every check)
#   PGJDBC_NOISE=N other clients running short statements and transactions meanwhile (default
#     6), so that in transaction mode the checks' clients move from server to server
#
# Why not pgjdbc's own JUnit suite: Maven Central is not reachable, and Debian 12's source
# package (libpgjava 42.5.5-0+deb12u1) cannot stand in for it: its orig tarball is missing
# from the archive (`apt-get source libpgjava` gets the .dsc and debian.tar.xz, then 404 on
# libpgjava_42.5.5.orig.tar.gz), Debian builds with maven.test.skip=true, and its patch
# missing-test-deps removes the test dependencies that are not packaged
# (classloader-leak-test-framework, system-stubs-jupiter), which the suite's base classes use.
# So PoolerCheck is our own program, compiled with javac against Debian's driver jar alone:
#   apt-get install default-jdk-headless libpostgresql-jdbc-java   (pgjdbc 42.5.5, OpenJDK 17)
# It covers what real Java applications do through a transaction-mode pooler: many threads
# each with its own connection, PreparedStatement reuse past prepareThreshold (named server
# statements S_1, S_2, ... shared by name across clients), statement-cache eviction and
# Close, DEALLOCATE ALL / DISCARD ALL, autosave, batches (executeBatch, reWriteBatchedInserts,
# a failing batch), autocommit off/on, read-only transactions, savepoints, setFetchSize
# cursors inside transactions, getGeneratedKeys, CopyManager COPY IN/OUT (and a failing COPY
# IN), 12 MB bytea, Large Objects in a transaction, setQueryTimeout and Statement.cancel,
# prepareThreshold=-1/0/1 with binary transfer of common types, isValid, startup parameters
# (currentSchema, ApplicationName, TimeZone), ORM-style long SQL (a 2,000-parameter IN list).
# Checks use ordinary tables (pgjdbc_*) in database pgjdbc_test, created afresh per run.
#
# Needs root (PostgreSQL and the pooler run as postgres), javac/java and the driver jar.
# Results: $LG_COMPAT_DIR/<direct|MODE>.log (PASS/FAIL per check), $LG_COMPAT_DIR/<MODE>.failed.
#
# What to expect (2026-11-27, pgjdbc 42.5.5, OpenJDK 17, PostgreSQL 15, 43 checks plus
# the noise clients' own check; about 50 s for all three runs):
#   direct 43/43, session 43/43, transaction 40 or 41 passed, 2 to 4 failed.
#   Transaction mode, inherent to the mode or a documented limit (docs/pooling-modes.md):
#   listen_notify (LISTEN is session state), long_sql_in_list_2000 (a 17 kB named Parse,
#   over the 16 KiB buffer: 54000 and the connection closed); and, when the client lands
#   on another server than its SET's, transaction_isolation (setTransactionIsolation sends
#   SET SESSION CHARACTERISTICS) and set_schema_and_client_info (setSchema is SET
#   search_path). These session-state checks run last: what they leave on a server would
#   otherwise spoil the checks after them.
#   Before the three fixes made with this runner (main at 0eddbdf): transaction 38/6, with
#   more lifeguard-only failures that depend on which server each client lands on:
#   noise (26000 prepared statement "lg_N" does not exist after another client's named
#   DEALLOCATE ALL), schema_change_column_type (5000000000 read as 1: a statement prepared
#   again on another server after ALTER COLUMN TYPE returned int8 to a client that decodes
#   int4), schema_change_autosave_conservative ("column index out of range" after ADD
#   COLUMN), and "relation does not exist" in checks run after startup_parameters (its
#   currentSchema search_path stayed on servers for the next clients).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-pgjdbc}
pg_port=${LG_PG_PORT:-19500}
lg_port=${LG_POOLER_PORT:-19501}
jar=${PGJDBC_JAR:-/usr/share/java/postgresql.jar}
noise=${PGJDBC_NOISE:-6}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-pgjdbc-suite.sh: run as root" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-pgjdbc-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
[ -f "$jar" ] || { echo "run-pgjdbc-suite.sh: no $jar (apt-get install libpostgresql-jdbc-java)" >&2; exit 1; }
command -v javac >/dev/null || { echo "run-pgjdbc-suite.sh: no javac (apt-get install default-jdk-headless)" >&2; exit 1; }

checks=()
[ -z "${PGJDBC_CHECKS:-}" ] || read -r -a checks <<<"$PGJDBC_CHECKS"

start_scratch_pg
javac -d "$work/classes" -cp "$jar" "$here/pgjdbc/PoolerCheck.java"

run_suite() { # name port
    local name=$1 port=$2
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS pgjdbc_test WITH (FORCE)" -c "CREATE DATABASE pgjdbc_test"
    # -Duser.timezone: pgjdbc sends the JVM's zone as the TimeZone startup parameter
    java -Duser.timezone=America/New_York -Dnoise="$noise" -cp "$jar:$work/classes" PoolerCheck 127.0.0.1 "$port" \
        pgjdbc_test "${checks[@]}" >"$work/$name.log" 2>&1 || true
    sed "s/^/  $name: /" "$work/$name.log"
    sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$work/$name.log" | sort >"$work/$name.failed"
}

run_direct_and_modes "${modes[@]}"
for mode in direct "${modes[@]}"; do
    echo "$mode: $(tail -n1 "$work/$mode.log")"
done
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
