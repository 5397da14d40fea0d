#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# promtool_check.sh: renders test_stats' two-pool Prometheus exposition (LG_DUMP_METRICS)
# and runs `promtool check metrics` (format and naming lint) on it. Skipped, with a note,
# when promtool (Debian package prometheus) is not installed. Usage: promtool_check.sh BIN
set -u
bin=$1
if ! command -v promtool >/dev/null; then
    echo "promtool-check: skipped (apt-get install prometheus provides promtool)"
    exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! LG_DUMP_METRICS=$out "$bin" >/dev/null 2>&1 || [ ! -s "$out" ]; then
    echo "promtool-check: FAILED: $bin did not write the exposition"
    exit 1
fi
if promtool check metrics <"$out"; then
    echo "promtool-check: ok ($(grep -vc '^#' "$out") samples)"
else
    echo "promtool-check: FAILED"
    exit 1
fi
