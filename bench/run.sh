#!/usr/bin/env bash
# bench/run.sh: the benchmark suite (issue 6). PostgreSQL directly, through
# PgBouncer and through lifeguard, interleaved (direct, PgBouncer, lifeguard,
# direct, ...), with each pooler's CPU per transaction from /proc/PID/stat.
# Builds nothing (`make bench` builds the release binary first). Starts its own
# PostgreSQL 15 and both poolers with the same settings (transaction mode, same
# default_pool_size, scram-sha-256, one userlist), stops them at the end.
#
# Scenarios (pgbench, scale $BENCH_SCALE):
#   S-c1 S-c16 S-c64 S-c256     -S, simple protocol, 1/16/64/256 clients
#   ext-c16 ext-c64             -S -M extended
#   prep-c16 prep-c64           -S -M prepared
#   conn-c16 conn-c64           -S -C (a new connection per transaction)
#   tpcb-c16                    tpcb-like (the default script)
#   lat-c16 lat-c1000           -S with pgbench -l: latency p50/p99/p99.9
# Extras, once per pooler:
#   callgrind   instructions per -S transaction (marginal, see below)
#   strace      system calls per -S transaction (strace -c -f)
#   memory      pooler RSS per idle client, 2,000 and 10,000 clients (auth_type=trust)
#
#   BENCH_QUICK=1        1 round, 1 s runs, short extras: the whole suite in ~2 minutes
#   BENCH_T=5            seconds per pgbench run (quick: 1)
#   BENCH_ROUNDS=3       rounds of (direct, PgBouncer, lifeguard) (quick: 1)
#   BENCH_SCALE=10       pgbench -i scale
#   BENCH_POOL=16        default_pool_size of both poolers
#   BENCH_MODE=transaction  pool_mode of both poolers
#   BENCH_SERVER=tcp     how both poolers reach PostgreSQL: unix (its Unix socket,
#                        PgBouncer's default when host= is not set) or tcp (127.0.0.1)
#   BENCH_SCENARIOS="..."   subset of the scenario names above (default: all)
#   BENCH_RELAY="S-c16"  scenarios also run through bench/relay.c (and strace: it too)
#   BENCH_EXTRAS="callgrind strace memory"   subset of the extras (default: all)
#   BENCH_IDLE="2000 10000"  idle-client counts for the memory extra
#   BENCH_CG_T=10        seconds per callgrind run (quick: 3)
#   BENCH_CG_RATES="150 900"  the two pgbench -R rates of the callgrind runs
#   LG_BINARY=...        lifeguard binary (default build/release/lifeguard)
#   PGBOUNCER_BINARY=/usr/sbin/pgbouncer
#   BENCH_OUT=bench/results/YYYY-MM-DD.md   the report; raw data goes next to it as .json
#   BENCH_KEEP=1         keep the work directory (logs, pgbench output) in /tmp
# Old single-scenario use: BENCH_CLIENTS=N [BENCH_PROTO=extended] runs only a
# "custom" -S scenario with those settings (and no extras unless BENCH_EXTRAS is set).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    T=${BENCH_T:-1} ROUNDS=${BENCH_ROUNDS:-1} CG_T=${BENCH_CG_T:-3}
else
    T=${BENCH_T:-5} ROUNDS=${BENCH_ROUNDS:-3} CG_T=${BENCH_CG_T:-10}
fi
SCALE=${BENCH_SCALE:-10}
POOL=${BENCH_POOL:-16}
MODE=${BENCH_MODE:-transaction}
SERVER=${BENCH_SERVER:-tcp}
ALL_SCENARIOS="S-c1 S-c16 S-c64 S-c256 ext-c16 ext-c64 prep-c16 prep-c64 conn-c16 conn-c64 tpcb-c16 lat-c16 lat-c1000"
if [ -n "${BENCH_CLIENTS:-}" ] && [ -z "${BENCH_SCENARIOS:-}" ]; then
    SCENARIOS=custom
    EXTRAS=${BENCH_EXTRAS:-}
else
    SCENARIOS=${BENCH_SCENARIOS:-$ALL_SCENARIOS}
    EXTRAS=${BENCH_EXTRAS-callgrind strace memory}
fi
IDLE=${BENCH_IDLE:-2000 10000}
RELAY=${BENCH_RELAY-S-c16}
lg_bin=$(readlink -f "${LG_BINARY:-$repo/build/release/lifeguard}")
pgb_bin=$(readlink -f "${PGBOUNCER_BINARY:-/usr/sbin/pgbouncer}")
out=${BENCH_OUT:-$repo/bench/results/$(date +%F).md}
pgbin=/usr/lib/postgresql/15/bin
py=/usr/bin/python3
suite_start=$(date +%s)

die() {
    echo "bench: $*" >&2
    exit 1
}
[ -x "$lg_bin" ] || die "$lg_bin not found (make BUILD=release, or make bench)"
[ -x "$pgb_bin" ] || die "$pgb_bin not found (scripts/deps.sh installs pgbouncer)"
[ -x "$pgbin/pgbench" ] || die "PostgreSQL 15 not installed (scripts/deps.sh)"
command -v cc >/dev/null || die "no C compiler for bench/relay.c (scripts/deps.sh)"
[[ "$SERVER" =~ ^(unix|tcp)$ ]] || die "BENCH_SERVER must be unix or tcp"
for v in "$T" "$ROUNDS" "$SCALE" "$POOL" "$CG_T"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "BENCH_T/ROUNDS/SCALE/POOL/CG_T must be positive integers"
done
has_extra() { [[ " $EXTRAS " == *" $1 "* ]]; }
if has_extra callgrind && ! command -v valgrind >/dev/null; then
    echo "bench: valgrind not installed: skipping callgrind (apt-get install valgrind)" >&2
    EXTRAS=${EXTRAS//callgrind/}
fi
if has_extra strace && ! command -v strace >/dev/null; then
    echo "bench: strace not installed: skipping strace (apt-get install strace)" >&2
    EXTRAS=${EXTRAS//strace/}
fi

# 10,000 idle clients and 1,000 pgbench clients need file descriptors (inherited
# by the poolers, the client script and pgbench)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt 10100 ]; then
    echo "bench: ulimit -n is $fd_limit: idle-client counts above $((fd_limit - 100)) skipped" >&2
fi

if [ "$(id -u)" -eq 0 ]; then
    as_owner() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
    spawn_owner() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" & }
else
    as_owner() { "$@"; }
    spawn_owner() { "$@" & }
fi

work=$(mktemp -d /tmp/lg-bench.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$work"
    # the repo may sit where user postgres can't reach (e.g. under /root)
    if ! as_owner test -x "$lg_bin"; then
        cp "$lg_bin" "$work/"
        lg_bin=$work/$(basename "$lg_bin")
    fi
fi
pids=()
pg_started=0
stop_pid() { # pid: TERM, wait up to 30 s, KILL
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null || true
}
cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        stop_pid "$pid"
    done
    if [ "$pg_started" = 1 ]; then
        as_owner "$pgbin/pg_ctl" -D "$work/pg" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_owner "$pgbin/pg_ctl" -D "$work/pg" -m immediate -w -t 30 stop \
                >/dev/null 2>&1 || true
    fi
    if [ "${keep:-1}" = 1 ]; then
        echo "bench: logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$py" - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}
port_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid name [tenths of a second]
    for _ in $(seq "${4:-100}"); do
        port_accepts "$1" && return 0
        kill -0 "$2" 2>/dev/null || {
            tail -n 20 "$work/$3.log" >&2
            die "$3 exited during startup"
        }
        sleep 0.1
    done
    die "$3 not listening on $1 after $((${4:-100} / 10)) s"
}
# utime+stime of a pid in clock ticks: "user sys"
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
clk_tck=$(getconf CLK_TCK)
# clock ticks over transactions -> µs per transaction
per_tx() { awk -v d="$1" -v tx="$2" -v hz="$clk_tck" 'BEGIN { printf "%.2f", d / hz * 1e6 / tx }'; }
pgb_tx() { sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$1"; }

# ---- PostgreSQL ----
pg_port=$(free_port)
echo "bench: PostgreSQL 15 on 127.0.0.1:$pg_port ($work/pg)"
as_owner "$pgbin/initdb" -D "$work/pg" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
max_connections = 300
shared_buffers = 512MB
fsync = off
synchronous_commit = off
EOF
pg_started=1
as_owner "$pgbin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w -t 60 start >/dev/null
psql_admin=(as_owner "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$pg_port" -U postgres)
"${psql_admin[@]}" -d postgres -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" \
    -c "CREATE DATABASE bench OWNER bench"
secret=$("${psql_admin[@]}" -d postgres -At \
    -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'bench'")
printf '"bench" "%s"\n' "$secret" >"$work/userlist.txt"
# auth_type=trust (idle clients) needs a password the pooler can log in to the server with
printf '"bench" "bench"\n' >"$work/userlist-plain.txt"
export PGPASSWORD=bench
echo "bench: pgbench -i -s $SCALE"
timeout 600 "$pgbin/pgbench" -h 127.0.0.1 -p "$pg_port" -U bench -i -s "$SCALE" -q bench \
    >"$work/pgbench-init.log" 2>&1 || {
    cat "$work/pgbench-init.log" >&2
    die "pgbench -i failed"
}

# ---- the two poolers, same settings ----
# (the callgrind runs set this for both: a pool of that size, filled: min_pool_size too)
pooler_pool=
server_host=127.0.0.1
[ "$SERVER" = unix ] && server_host=$work
# start_pooler name binary [auth_type [max_client_conn [wrapper...]]]
#   -> started_port, started_pid
start_pooler() {
    local name=$1 bin=$2 auth=${3:-scram-sha-256} maxc=${4:-2000} section=lifeguard port
    shift $(($# < 4 ? $# : 4))
    local userlist=$work/userlist.txt
    [ "$auth" = trust ] && userlist=$work/userlist-plain.txt
    case "$(basename "$bin")" in *pgbouncer*) section=pgbouncer ;; esac
    port=$(free_port)
    mkdir -p "$work/$name.sock"
    cat >"$work/$name.ini" <<EOF
[databases]
bench = host=$server_host port=$pg_port dbname=bench

[$section]
listen_addr = 127.0.0.1
listen_port = $port
listen_backlog = 4096
unix_socket_dir = $work/$name.sock
auth_type = $auth
auth_file = $userlist
pool_mode = $MODE
default_pool_size = ${pooler_pool:-$POOL}
min_pool_size = ${pooler_pool:-0}
max_client_conn = $maxc
ignore_startup_parameters = extra_float_digits
EOF
    # PgBouncer logs in one server at a time, always; lifeguard the same (not its default)
    [ "$section" = lifeguard ] && echo "server_connect_parallel = 1" >>"$work/$name.ini"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$work"
    spawn_owner "$@" "$bin" "$work/$name.ini" >"$work/$name.log" 2>&1
    local pid=$!
    pids+=("$pid")
    wait_port "$port" "$pid" "$name" 600
    started_port=$port
    started_pid=$pid
}
# start_relay -> started_port, started_pid: bench/relay.c to PostgreSQL's TCP port
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$work/relay" "$repo/bench/relay.c" ||
    die "cannot build bench/relay.c"
start_relay() {
    local port
    port=$(free_port)
    spawn_owner "$work/relay" "$port" "$pg_port" >"$work/relay.log" 2>&1
    local pid=$!
    pids+=("$pid")
    wait_port "$port" "$pid" relay
    started_port=$port
    started_pid=$pid
}
# the pid of the pooler itself when it runs under setpriv/valgrind (setpriv execs)
start_pooler pgbouncer "$pgb_bin"
port_pgbouncer=$started_port pid_pgbouncer=$started_pid
start_pooler lifeguard "$lg_bin"
port_lifeguard=$started_port pid_lifeguard=$started_pid
start_relay
port_relay=$started_port pid_relay=$started_pid
echo "bench: PgBouncer on $port_pgbouncer (pid $pid_pgbouncer)," \
    "lifeguard on $port_lifeguard (pid $pid_lifeguard), relay on $port_relay (pid $pid_relay)"

# ---- interleaved pgbench runs ----
# results.tsv: scenario round target tps tx latency_ms user_us sys_us
# latency.tsv: scenario round target p50_ms p99_ms p999_ms n
results=$work/results.tsv latency=$work/latency.tsv
: >"$results"
: >"$latency"
scenario_args() { # name -> sets s_args s_clients s_direct
    s_direct=1
    case "$1" in
    S-c*) s_args="-S -M simple" s_clients=${1#S-c} ;;
    ext-c*) s_args="-S -M extended" s_clients=${1#ext-c} ;;
    prep-c*) s_args="-S -M prepared" s_clients=${1#prep-c} ;;
    conn-c*) s_args="-S -M simple -C" s_clients=${1#conn-c} ;;
    tpcb-c*) s_args="-M simple" s_clients=${1#tpcb-c} ;;
    lat-c*) s_args="-S -M simple" s_clients=${1#lat-c} ;;
    custom) s_args="-S -M ${BENCH_PROTO:-simple}" s_clients=$BENCH_CLIENTS ;;
    *) die "unknown scenario $1 (known: $ALL_SCENARIOS)" ;;
    esac
    # PostgreSQL itself runs at most max_connections = 300 backends
    [ "$s_clients" -gt 250 ] && [ "${1%%-*}" = lat ] && s_direct=0
    [ "$s_clients" -gt 290 ] && s_direct=0
    return 0
}
run_one() { # scenario round target port pid-or-empty
    local sc=$1 round=$2 target=$3 port=$4 pid=$5 before after
    local log=$work/run-$sc-$round-$target.log j=2 extra=()
    scenario_args "$sc"
    [ "$s_clients" -lt 2 ] && j=1
    if [ "${sc%%-*}" = lat ]; then
        rm -rf "$work/lat-$sc-$round-$target"
        mkdir -p "$work/lat-$sc-$round-$target"
        extra=(-l "--log-prefix=$work/lat-$sc-$round-$target/log")
    fi
    # pgbench's -T includes the logins (SCRAM: ~1 ms of client CPU each): longer
    # runs for many clients, so that 1,000 clients get past logging in
    local dur=$((T + (s_clients >= 64 ? 1 + s_clients / 150 : 0)))
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    # shellcheck disable=SC2086
    if ! timeout $((dur + 180)) "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U bench -n $s_args \
        -c "$s_clients" -j "$j" -T "$dur" "${extra[@]}" bench >"$log" 2>&1 ||
        [ "$(pgb_tx "$log")" = 0 ]; then
        # A pooler that cannot run this protocol (PgBouncer 1.18 and -M prepared in
        # transaction mode) is reported as failed, not fatal to the whole run.
        tail -n 2 "$log" | sed "s/^/bench:   $target: /" >&2
        printf '%s\t%s\t%s\t-\t-\t-\t-\t-\n' "$sc" "$round" "$target" >>"$results"
        printf 'bench: %-9s round %s %-9s FAILED\n' "$sc" "$round" "$target"
        return 0
    fi
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    local tps tx failed lat user=- sys=-
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log" | tail -n 1)
    tx=$(pgb_tx "$log")
    failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$log")
    lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$log")
    [ "${failed:-0}" = 0 ] || die "$sc $target: $failed failed transactions"
    if [ -n "$pid" ]; then
        read -r ub sb <<<"$before"
        read -r ua sa <<<"$after"
        user=$(per_tx $((ua - ub)) "$tx")
        sys=$(per_tx $((sa - sb)) "$tx")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$round" "$target" "$tps" "$tx" "$lat" \
        "$user" "$sys" >>"$results"
    local pct=""
    if [ "${sc%%-*}" = lat ]; then
        # pgbench -l: client_id tx_no latency_us script_no epoch_s epoch_us
        pct=$(cat "$work/lat-$sc-$round-$target"/log* | "$py" -c '
import sys
v = sorted(int(l.split()[2]) for l in sys.stdin if l.strip())
q = lambda p: v[min(len(v) - 1, int(p * len(v)))] / 1000
print(f"{q(0.5):.3f}\t{q(0.99):.3f}\t{q(0.999):.3f}\t{len(v)}")')
        printf '%s\t%s\t%s\t%s\n' "$sc" "$round" "$target" "$pct" >>"$latency"
        rm -rf "$work/lat-$sc-$round-$target"
        pct=" p50/p99/p99.9 ms $(cut -f1-3 <<<"$pct" | tr '\t' /)"
    fi
    printf 'bench: %-9s round %s %-9s tps %9.0f  latency %7s ms  pooler µs/tx %5s user %6s sys%s\n' \
        "$sc" "$round" "$target" "$tps" "$lat" "$user" "$sys" "$pct"
}
for sc in $SCENARIOS; do scenario_args "$sc"; done # reject unknown names before starting
for round in $(seq "$ROUNDS"); do
    for sc in $SCENARIOS; do
        scenario_args "$sc"
        [ "$s_direct" = 1 ] && run_one "$sc" "$round" direct "$pg_port" ""
        run_one "$sc" "$round" pgbouncer "$port_pgbouncer" "$pid_pgbouncer"
        run_one "$sc" "$round" lifeguard "$port_lifeguard" "$pid_lifeguard"
        if [[ " $RELAY " == *" $sc "* ]]; then
            run_one "$sc" "$round" relay "$port_relay" "$pid_relay"
        fi
    done
done
stop_pid "$pid_pgbouncer"
stop_pid "$pid_lifeguard"
stop_pid "$pid_relay"

# ---- extras: one pooler at a time, on fresh instances ----
# extras.tsv: kind target key value
extras=$work/extras.tsv
: >"$extras"
pgbench_S16() { # port log [pgbench args...]
    local port=$1 log=$2
    shift 2
    timeout 300 "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U bench -n -S -M simple -c 16 -j 2 "$@" \
        bench >"$log" 2>&1 || {
        tail -n 3 "$log" >&2
        die "pgbench failed ($log)"
    }
}

# Instructions per -S transaction, marginal: two runs of the same length (so
# timer-driven work such as PgBouncer's per-second maintenance is the same in
# both) at two pgbench -R rates; (Ir2 - Ir1) / (tx2 - tx1) leaves only the
# per-transaction cost (startup, 16 SCRAM logins and timers cancel out).
# Two pool shapes, both poolers alike: "callgrind" has the pool filled to its size
# (min_pool_size = BENCH_POOL: a server per client, as in S-c16, where all 16 open), and
# "callgrind_few" 4 servers for the 16 clients (more clients than servers). Filled pools
# also keep server logins out of the difference: under valgrind a slow pooler queues
# clients and opens servers at random moments, ~150,000 instructions each.
if has_extra callgrind; then
    cg_rates=${BENCH_CG_RATES:-150 900}
    cg_lo=${cg_rates%% *} cg_hi=${cg_rates##* }
    for shape in callgrind callgrind_few; do
        pooler_pool=$POOL
        [ "$shape" = callgrind_few ] && pooler_pool=4
        for target in pgbouncer lifeguard; do
            bin=$lg_bin
            [ "$target" = pgbouncer ] && bin=$pgb_bin
            for rate in "$cg_lo" "$cg_hi"; do
                cgout=$work/$shape-$target-$rate.out
                start_pooler "cg-$target" "$bin" scram-sha-256 2000 \
                    valgrind --tool=callgrind --callgrind-out-file="$cgout" -q
                pgbench_S16 "$started_port" "$work/$shape-$target-$rate.pgbench.log" \
                    -T "$CG_T" -R "$rate"
                stop_pid "$started_pid"
                ir=$(sed -nE 's/^(summary|totals): ([0-9]+).*/\2/p' "$cgout" | tail -n 1)
                tx=$(pgb_tx "$work/$shape-$target-$rate.pgbench.log")
                [ -n "$ir" ] || die "no callgrind totals in $cgout"
                printf '%s\t%s\tir_%s\t%s\n%s\t%s\ttx_%s\t%s\n' "$shape" "$target" "$rate" \
                    "$ir" "$shape" "$target" "$rate" "$tx" >>"$extras"
                echo "bench: $shape (pool $pooler_pool) $target -R $rate -T $CG_T:" \
                    "$tx transactions, $ir instructions"
            done
        done
    done
    pooler_pool=
fi

# System calls per -S transaction: strace -c -f attached for one short run
# (16 logins included; they are a few hundred calls against tens of thousands).
if has_extra strace; then
    st_t=$((QUICK == 1 ? 1 : 4))
    st_targets="pgbouncer lifeguard"
    [ -n "$RELAY" ] && st_targets="$st_targets relay"
    for target in $st_targets; do
        bin=$lg_bin
        [ "$target" = pgbouncer ] && bin=$pgb_bin
        if [ "$target" = relay ]; then
            start_relay
        else
            start_pooler "st-$target" "$bin"
        fi
        strace -c -f -q -o "$work/strace-$target.txt" -p "$started_pid" &
        st_pid=$!
        sleep 0.5
        pgbench_S16 "$started_port" "$work/st-$target.pgbench.log" -T "$st_t"
        kill -INT "$st_pid"
        wait "$st_pid" || true
        stop_pid "$started_pid"
        tx=$(pgb_tx "$work/st-$target.pgbench.log")
        printf 'strace\t%s\ttx\t%s\n' "$target" "$tx" >>"$extras"
        # "% time seconds usecs/call calls [errors] syscall"
        awk '$1 ~ /^[0-9.]+$/ && NF >= 5 {printf "strace\t'"$target"'\tcalls_%s\t%s\n", $NF, $4}' \
            "$work/strace-$target.txt" >>"$extras"
        total=$(awk '$NF == "total" {print $4}' "$work/strace-$target.txt")
        echo "bench: strace $target: $total system calls over $tx transactions"
    done
fi

# Pooler RSS per idle client: auth_type=trust (the client script speaks no
# password protocol), a fresh pooler per count, one login first so that the
# pool's server connection and its startup parameters exist before "before".
if has_extra memory; then
    for n in $IDLE; do
        if [ "$fd_limit" != unlimited ] && [ "$n" -gt $((fd_limit - 100)) ]; then
            echo "bench: skipping $n idle clients (ulimit -n $fd_limit)" >&2
            continue
        fi
        for target in pgbouncer lifeguard; do
            bin=$lg_bin
            [ "$target" = pgbouncer ] && bin=$pgb_bin
            start_pooler "mem-$target" "$bin" trust $((n + 1000))
            echo | "$py" "$repo/bench/idle_clients.py" 127.0.0.1 "$started_port" 1 bench bench \
                >/dev/null
            sleep 0.5
            before=$(rss_kib "$started_pid")
            coproc IDLE_CLIENTS { "$py" "$repo/bench/idle_clients.py" 127.0.0.1 "$started_port" \
                "$n" bench bench; }
            read -r -t 300 word ok failed <&"${IDLE_CLIENTS[0]}" || die "idle clients: no answer"
            sleep 1
            after=$(rss_kib "$started_pid")
            eval "exec ${IDLE_CLIENTS[1]}>&-"
            wait "$IDLE_CLIENTS_PID" 2>/dev/null || true
            stop_pid "$started_pid"
            [ "$failed" = 0 ] || echo "bench: $target: $failed of $n idle logins failed" >&2
            printf 'memory\t%s\tbefore_%s\t%s\nmemory\t%s\tafter_%s\t%s\nmemory\t%s\tok_%s\t%s\n' \
                "$target" "$n" "$before" "$target" "$n" "$after" "$target" "$n" "$ok" >>"$extras"
            echo "bench: memory $target: $ok idle clients, VmRSS $before -> $after KiB"
        done
    done
fi
unset PGPASSWORD

# ---- report ----
lg_version=$("$lg_bin" --version 2>&1 | head -n 1 || true)
pgb_version=$("$pgb_bin" --version 2>&1 | head -n 1 || true)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain -- src 2>/dev/null | head -n 1)
[ -n "$dirty" ] && commit="$commit (src/ modified)"
mkdir -p "$(dirname "$out")"
cat >"$work/meta.json" <<EOF
{"date": "$(date +%F)", "quick": $QUICK, "T": $T, "rounds": $ROUNDS, "scale": $SCALE,
 "pool": $POOL, "mode": "$MODE", "server": "$SERVER", "cg_t": $CG_T, "cores": $(nproc),
 "kernel": "$(uname -sr)", "cpu": "$(sed -nE 's/^model name\s*:\s*//p' /proc/cpuinfo | head -n 1)",
 "commit": "$commit", "lifeguard": "$lg_version", "pgbouncer": "$pgb_version",
 "elapsed_s": $(($(date +%s) - suite_start))}
EOF
"$py" "$repo/bench/report.py" "$work" "${out%.md}.json" >"$out.tmp"
mv "$out.tmp" "$out"
keep=${BENCH_KEEP:-0}
echo
cat "$out"
echo
echo "bench: wrote $out and ${out%.md}.json ($(($(date +%s) - suite_start)) s)"
