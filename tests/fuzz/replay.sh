#!/usr/bin/env bash
# replay.sh: replays each fuzz target's saved inputs (tests/fuzz/regress/<name>/, then the
# seeds in tests/fuzz/corpus/<name>/) through a replay binary built by `make fuzz-replay`
# (tests/fuzz/replay_main.c + fuzz_<name>.c). Under BUILD=debug each binary runs under
# valgrind (memory errors and leaks are failures), like the unit tests; BUILD=asan binaries
# check themselves. When a target fails, its inputs are replayed one by one to name the
# culprits. Prints "fuzz-replay: N passed, N failed"; non-zero exit if any failed.
#
#   tests/fuzz/replay.sh build/debug/fuzz/fuzz_pgproto ...
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pass=0; fail=0
vg=()
if [ "${BUILD:-debug}" != asan ] && command -v valgrind >/dev/null; then
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect)
fi
if [ "${BUILD:-debug}" = asan ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    dirs=()
    for d in "$here/regress/$name" "$here/corpus/$name"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    if [ ${#dirs[@]} = 0 ]; then
        echo "FAILED: $bin: no regress/$name or corpus/$name directory"
        fail=$((fail+1))
        continue
    fi
    "${vg[@]}" "$bin" "${dirs[@]}"
    rc=$?
    if [ $rc = 0 ]; then
        pass=$((pass+1))
        continue
    fi
    fail=$((fail+1))
    echo "FAILED: $bin (exit $rc); replaying its inputs one by one:"
    for d in "${dirs[@]}"; do
        for f in "$d"/*; do
            [ -f "$f" ] || continue
            "${vg[@]}" "$bin" "$f" >/dev/null 2>&1 || echo "  failing input: ${f#"$here"/}"
        done
    done
done
echo "fuzz-replay: $pass passed, $fail failed"
[ $fail = 0 ]
