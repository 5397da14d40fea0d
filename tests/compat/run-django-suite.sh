#!/usr/bin/env bash
# run-django-suite.sh: Django's own test suite (tests/runtests.py) on the PostgreSQL backend,
# once directly against a scratch PostgreSQL 15 and once per mode through lifeguard, then the
# tests that fail only through lifeguard. By hand only (not part of `make test`); it fetches
# nothing. It runs Debian's /usr/bin/python3 against the INSTALLED Django (python3-django),
# with the test tree of the same Debian source package, which is how Django's tests are meant
# to run against a release: runtests.py imports `django` from sys.path, i.e. the installed one.
#
#   DJANGO_SRC=/path/to/python-django tests/compat/run-django-suite.sh \
#       [session|transaction|session-nossc|transaction-nossc ...] [-- test labels ...]
#
#   A mode ending in -nossc runs with DISABLE_SERVER_SIDE_CURSORS = True (Django's documented
#     setting for transaction pooling) for both databases, and is compared with a direct run
#     that has it too (direct-nossc); the other modes keep Django's default (False) and are
#     compared with `direct`. Default modes: session transaction transaction-nossc.
#   Test labels: runtests.py labels (apps, modules, classes, tests); `all` for the whole
#     suite (every app). Default: $default_labels below. DJANGO_PARALLEL=N (default 2; 1 for no clones): runtests.py --parallel.
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-django)  LG_PG_PORT=19490
#   LG_POOLER_PORT=19491  DJANGO_TIMEOUT=seconds per run (default 2400)
#   DJANGO_CONN_MAX_AGE=seconds (default 0: Django's default, a connection per request)
#
# The settings module (written to $LG_COMPAT_DIR/settings/lg_django_settings.py) has the shape
# of the suite's tests/test_sqlite.py: 'default' (NAME django_default) and 'other'
# (django_other), ENGINE django.db.backends.postgresql, user postgres, HOST/PORT of PostgreSQL
# or of lifeguard. The runner connects to the `postgres` database to CREATE DATABASE
# test_django_default / test_django_other, with --parallel N clones them (CREATE DATABASE
# test_django_default_1 TEMPLATE test_django_default ...) and DROPs them all at the end; so
# through lifeguard this exercises its closing of idle pooled servers before such statements
# (src/client_ddl.c). After each run the script checks that no test_* database is left.
#
# How the suite was obtained (2026-11-27): `apt-get source python-django` through
# apt_source_args (tests/compat/pooler.sh) in a scratch dir: python-django 3.2.25-0+deb12u3
# (the installed python3-django is 3.2.25-0+deb12u7, security updates only; the tests are
# those of 3.2.25), unpacked with dpkg-source -x, so DJANGO_SRC/tests/runtests.py.
#
# Needs root (PostgreSQL and the pooler run as postgres) and, from apt: python3-django,
# python3-psycopg2, python3-tblib (tracebacks from --parallel workers), python3-yaml
# (serializers), python3-pil (model_fields ImageField), python3-numpy, python3-jinja2,
# python3-argon2, python3-bcrypt, python3-sqlparse; contrib extensions (hstore, citext,
# unaccent, pg_trgm, btree_gist, btree_gin) come with postgresql-15. Results:
# $LG_COMPAT_DIR/<direct|MODE>.txt (runtests output), .failed (failing test ids).
#
# After each run, django_pooler_checks.py (next to this script) runs what the suite's
# TestCase, which wraps every test in a transaction, never does: QuerySet.iterator() in
# autocommit mode from 4 threads (a cursor WITH HOLD fetched over several transactions), an
# iterator abandoned at the end of a request, connection.close() inside atomic(),
# CONN_MAX_AGE with other clients SETting their time zone, OPTIONS isolation_level,
# savepoints and SELECT ... FOR UPDATE NOWAIT; a failing check is listed as "check NAME".
#
# What to expect (2026-11-27, Django 3.2.25, PostgreSQL 15, the 84 default labels, 7315
# tests, --parallel 2, on 2 cores shared with other work: each run 150-320 s, the script
# 17-25 min; `-- basic` takes 30 s):
#   direct 2 failed, 322 skipped: cache.tests.CacheUtils.test_learn_cache_key and its
#   Prefixed twin (the test tree is 3.2.25-0+deb12u3's, the installed cache code has a later
#   security fix; no database involved). direct-nossc adds the 6 tests of
#   backends.postgresql.test_server_side_cursors that expect a cursor (8 failed).
#   session, transaction, transaction-nossc: the same failures, none only through lifeguard;
#   every CREATE DATABASE ... TEMPLATE (clones for --parallel) and DROP DATABASE of the
#   test databases goes through (lifeguard closes its idle servers to them first, logged as
#   "closed N idle server connection(s)"), and no test database is left behind.
#   Checks: 6/6 in every mode. Before the fix made with this runner (at 1839ad4), transaction
#   mode failed iterator_in_autocommit ("cursor _django_curs_... does not exist": the FETCH
#   went to another server) and iterator_abandoned (the cursor stayed on the pooled server,
#   and Django's next cursor of the same name failed "already exists"); transaction-nossc
#   (DISABLE_SERVER_SIDE_CURSORS, Django's advice for transaction pooling) passed them.
#   Not exercised: LISTEN (Django does not use it), DISABLE_SERVER_SIDE_CURSORS with
#   session mode (nothing to see: session mode keeps the server).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
src=${DJANGO_SRC:?set DJANGO_SRC to a Django source tree (python-django, with tests/runtests.py)}
src=$(readlink -f "$src")
default_labels="backends transactions basic queries select_for_update model_fields
db_functions aggregation expressions postgres_tests migrations schema test_runner
introspection timezones get_or_create bulk_create update delete db_utils
test_utils transaction_hooks servers handlers requests async multiple_database cache
sessions_tests auth_tests fixtures fixtures_regress serializers dbshell inspectdb indexes
constraints model_indexes prefetch_related lookup many_to_many many_to_one m2m_through
generic_relations contenttypes_tests model_inheritance raw_query custom_pk model_forms
annotations ordering distinct_on_fields delete_regress force_insert_update select_related
defer filtered_relation model_regress queryset_pickle datetimes dates expressions_window
expressions_case get_earliest_or_latest null_queries proxy_models signals migrate_signals
migration_test_data_persistence admin_changelist one_to_one update_only_fields
known_related_objects custom_managers from_db_value or_lookups sites_tests check_framework"
modes=()
labels=()
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; labels=("$@"); break ;;
    *) modes+=("$1"); shift ;;
    esac
done
[ ${#modes[@]} -gt 0 ] || modes=(session transaction transaction-nossc)
# shellcheck disable=SC2206
[ ${#labels[@]} -gt 0 ] || labels=($default_labels)
[ "${labels[*]}" != all ] || labels=()
work=${LG_COMPAT_DIR:-/tmp/lg-django}
pg_port=${LG_PG_PORT:-19490}
lg_port=${LG_POOLER_PORT:-19491}
parallel=${DJANGO_PARALLEL:-2}
per_run=${DJANGO_TIMEOUT:-2400}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-django-suite.sh: run as root" >&2; exit 1; }
[ -f "$src/tests/runtests.py" ] || { echo "run-django-suite.sh: no tests/runtests.py in $src" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-django-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
/usr/bin/python3 -c 'import django, psycopg2' ||
    { echo "run-django-suite.sh: needs python3-django and python3-psycopg2" >&2; exit 1; }

start_scratch_pg
# Some test apps look at the server version when their models are imported (inspectdb), before
# the test databases exist, so the databases named in the settings must exist too.
"${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -c "CREATE DATABASE django_default" -c "CREATE DATABASE django_other"
mkdir -p "$work/settings"
cat >"$work/settings/lg_django_settings.py" <<'EOF'
# Written by tests/compat/run-django-suite.sh: Django's test settings (the shape of
# tests/test_sqlite.py) for PostgreSQL on LG_DJANGO_PORT.
import os

_port = os.environ["LG_DJANGO_PORT"]
_nossc = os.environ.get("LG_DJANGO_NOSSC") == "1"
_max_age = int(os.environ.get("LG_DJANGO_CONN_MAX_AGE", "0"))


def _db(name):
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": _port,
        "CONN_MAX_AGE": _max_age,
        "DISABLE_SERVER_SIDE_CURSORS": _nossc,
    }


DATABASES = {"default": _db("django_default"), "other": _db("django_other")}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
EOF

left_databases() { # lists test_* databases still on the scratch PostgreSQL
    "${asuser[@]}" "$pgbin/psql" -X -At -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "SELECT datname FROM pg_database WHERE datname LIKE 'test\_%' ORDER BY 1" | tr '\n' ' '
}

run_suite() { # name port nossc
    local name=$1 rc=0 start left
    start=$(date +%s)
    (cd "$src/tests" && PYTHONPATH="$work/settings" LG_DJANGO_PORT=$2 LG_DJANGO_NOSSC=$3 \
        LG_DJANGO_CONN_MAX_AGE="${DJANGO_CONN_MAX_AGE:-0}" \
        timeout -k 10 "$per_run" /usr/bin/python3 -W ignore runtests.py --noinput -v 2 \
        --settings=lg_django_settings --parallel "$parallel" "${labels[@]}" \
        >"$work/$name.txt" 2>&1) || rc=$?
    [ "$rc" = 124 ] && echo "(timeout after ${per_run}s)" >>"$work/$name.txt"
    grep -E '^(FAIL|ERROR): ' "$work/$name.txt" | sed -E 's/^(FAIL|ERROR): //' | sort -u >"$work/$name.failed" || true
    left=$(left_databases)
    [ -z "$left" ] || echo "$name: test databases left behind: $left (dropped now)"
    for db in $left; do
        "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
            -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    done
    echo "$name: $(grep -E '^Ran [0-9]+ tests' "$work/$name.txt" | tail -n1)," \
        "$(grep -E '^(OK|FAILED)( |$)' "$work/$name.txt" | tail -n1)," \
        "$(wc -l <"$work/$name.failed") failing ids, rc $rc, $(($(date +%s) - start)) s"
    if grep -q 'being accessed by other users' "$work/$name.txt"; then
        echo "$name: a CREATE/DROP DATABASE was refused (55006), see $work/$name.txt"
    fi
    # What the suite's TestCase shelters from: cursors across transactions, abandoned
    # iterators, persistent connections, close() inside atomic() (django_pooler_checks.py).
    (cd "$work/settings" && PYTHONPATH="$work/settings" LG_DJANGO_PORT=$2 LG_DJANGO_NOSSC=$3 \
        timeout -k 5 120 /usr/bin/python3 "$here/django_pooler_checks.py" \
        >"$work/$name.checks" 2>"$work/$name.checks.err") || true
    grep '^FAIL' "$work/$name.checks" | sed -E 's/^FAIL ([a-z_]+):.*/check \1/' >>"$work/$name.failed" || true
    sort -o "$work/$name.failed" "$work/$name.failed"
    echo "$name: pooler checks: $(grep -c '^ok' "$work/$name.checks") ok," \
        "$(grep -c '^FAIL' "$work/$name.checks") failed (see $work/$name.checks)"
}

baselines=(direct)
for mode in "${modes[@]}"; do
    case $mode in *-nossc) baselines=(direct direct-nossc) ;; esac
done
for base in "${baselines[@]}"; do
    nossc=0
    [ "$base" = direct-nossc ] && nossc=1
    run_suite "$base" "$pg_port" "$nossc"
done
for mode in "${modes[@]}"; do
    nossc=0
    case $mode in *-nossc) nossc=1 ;; esac
    write_pooler_ini "$work/run/$mode.ini" "${mode%-nossc}" "$pg_port"
    start_pooler "$binary" "$work/run/$mode.ini" "$work/$mode.pooler.log"
    run_suite "$mode" "$lg_port" "$nossc"
    stop_pooler
done
for mode in "${modes[@]}"; do
    base=direct
    case $mode in *-nossc) base=direct-nossc ;; esac
    echo "$mode: failing only through the pooler (compared with $base):"
    comm -13 "$work/$base.failed" "$work/$mode.failed" | sed 's/^/  /'
done
