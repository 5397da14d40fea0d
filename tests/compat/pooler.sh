# shellcheck shell=bash
# pooler.sh: sourced by the by-hand compatibility scripts (run-pg-regress.sh,
# run-psycopg-suite.sh). start_pooler BINARY INI LOG runs the pooler under test as the
# postgres user in the background (pid in $pooler_pid) and waits up to 5 s until it
# accepts connections on $lg_port; stop_pooler stops it. Uses the caller's asuser (array),
# pgbin and lg_port.

start_pooler() {
    "${asuser[@]}" "$1" "$2" >"$3" 2>&1 &
    pooler_pid=$!
    for _ in $(seq 50); do
        "${asuser[@]}" "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$lg_port" && break
        sleep 0.1
    done
}

stop_pooler() {
    kill "$pooler_pid" 2>/dev/null || true
    wait "$pooler_pid" 2>/dev/null || true
    pooler_pid=
}
