#!/usr/bin/env bash
# run.sh: run lifeguard's integration tests (pytest, 2 xdist workers).
#
#   BUILD=debug|asan|release   picks build/$BUILD/lifeguard (default debug)
#   LG_BINARY=/usr/sbin/pgbouncer   test another binary (validates the tests)
#   LG_TEST_JOBS=N             xdist workers (default 2)
#   extra arguments go to pytest (e.g. -k cancel, -x)
#
# PostgreSQL and PgBouncer refuse to run as root, so as root the whole pytest
# run drops to the postgres user in a scratch dir under /tmp. Prints a closing
# "integration: N passed, N failed, N skipped" line; exits non-zero on any
# failure, and also when no test ran (pytest's exit status 5).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-debug}
export BUILD

binary=${LG_BINARY:-$repo/build/$BUILD/lifeguard}
if [ ! -x "$binary" ]; then
    echo "run.sh: $binary is missing or not executable (build it: make BUILD=$BUILD)" >&2
    exit 1
fi
LG_BINARY=$(readlink -f "$binary")
export LG_BINARY

if [ "$BUILD" = asan ]; then
    export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

py=/usr/bin/python3 # not the pyenv python3 on PATH: it can't see Debian's packages
base=$(mktemp -d /tmp/lg-it.XXXXXX)
export LG_TEST_BASE=$base
export PYTHONDONTWRITEBYTECODE=1 # write nothing into the repo
export HOME=$base/home
mkdir -p "$HOME"

# After a crashed or interrupted run: stop what the harness started (pid files
# in $base/pids, written by harness.py) and nothing else.
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local f pid sig pids=()
    for f in "$base"/pids/*; do
        [ -e "$f" ] || continue
        pid=${f##*/}
        # only a pid that still runs one of our commands (its argv names $base)
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$base"; then
            sig=TERM
            grep -q '^postgres' "$f" && sig=INT # fast shutdown
            kill "-$sig" "$pid" 2>/dev/null && pids+=("$pid")
        fi
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
    done
    if [ "$keep" = 1 ]; then
        echo "run.sh: scratch files kept in $base"
    else
        rm -rf "$base"
    fi
}
keep=1
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

testdir=$here
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$base"
    # CI may clone where the postgres user can't reach (e.g. under /root):
    # then run a copy of the tests, the example they run and the binary from
    # the scratch dir.
    # shellcheck disable=SC2016 # $1/$2 belong to the inner sh
    if ! setpriv --reuid=postgres --regid=postgres --init-groups -- \
        sh -c 'test -r "$1/conftest.py" && test -x "$2"' _ "$here" "$LG_BINARY"; then
        echo "run.sh: user postgres cannot read $here or $LG_BINARY; using copies in $base"
        mkdir -p "$base/tests" "$base/bin" "$base/examples"
        cp -a "$here/." "$base/tests/"
        cp -a "$repo/examples/flask-celery" "$base/examples/" # test_flask_celery.py runs it
        cp "$LG_BINARY" "$base/bin/"
        LG_BINARY=$base/bin/$(basename "$LG_BINARY")
        testdir=$base/tests
        chown -R postgres:postgres "$base"
    fi
fi

args=(-m pytest -p no:cacheprovider -c "$testdir/pytest.ini" --rootdir "$testdir"
    --basetemp "$base/pytest" -n "${LG_TEST_JOBS:-2}")
# sanitized binaries are slower; harness.py stretches its own deadlines alike
[ "$BUILD" = asan ] && args+=(--timeout 180)
args+=("$@")
log=$base/pytest.out
cd "$testdir"
set +e
if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups "$py" "${args[@]}" 2>&1 | tee "$log"
else
    "$py" "${args[@]}" 2>&1 | tee "$log"
fi
rc=${PIPESTATUS[0]}
set -e

# pytest's closing line, e.g. "===== 40 passed, 6 skipped in 71.23s ====="
closing=$(grep -E '^(=+ )?([0-9]+ [a-z]+(, )?)+ in [0-9.]+s( \([0-9:]+\))?( =+)?$|no tests ran' \
    "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//' || true)
count() { grep -oE "[0-9]+ $1" <<<"$closing" | grep -oE '^[0-9]+' || echo 0; }
passed=$(count passed)
failed=$(($(count failed) + $(count "errors?")))
skipped=$(count skipped)

if [ "$rc" -eq 5 ]; then
    echo "run.sh: pytest collected no tests: that is a failure"
    rc=1
fi
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
    echo "run.sh: no test passed: that is a failure"
    rc=1
fi
[ "$rc" -eq 0 ] && keep=0
echo "pytest: ${closing:-no summary line} (exit $rc)"
echo "integration: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
