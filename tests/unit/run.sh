#!/usr/bin/env bash
# Runs each cmocka unit test binary under valgrind (leaks are errors) and prints
# the closing line "N passed, N failed". Exit status is non-zero if any failed.
set -u
pass=0; fail=0
use_vg=1
[ "${BUILD:-debug}" = asan ] && use_vg=0
command -v valgrind >/dev/null || use_vg=0
for t in "$@"; do
    if [ $use_vg = 1 ]; then
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect "$t"
    else
        "$t"
    fi
    rc=$?
    if [ $rc = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $t (exit $rc)"; fi
done
echo "unit: $pass passed, $fail failed"
[ $fail = 0 ]
