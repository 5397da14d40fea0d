#!/usr/bin/env bash
# bench/run.sh: pgbench -S against PostgreSQL directly, through PgBouncer and
# through lifeguard, interleaved, with the poolers' CPU per transaction.
# Builds nothing (`make bench` builds the release binary first). Starts its own
# PostgreSQL 15 and both poolers with equivalent settings (session mode,
# default_pool_size=16, scram-sha-256, one userlist), stops them at the end.
#
#   BENCH_T=20          seconds per pgbench run
#   BENCH_ROUNDS=1      rounds of (direct, PgBouncer, lifeguard)
#   BENCH_SCALE=10      pgbench -i scale
#   BENCH_CLIENTS=16    pgbench -c
#   BENCH_POOL=$BENCH_CLIENTS   default_pool_size of both poolers
#   BENCH_MODE=session  pool_mode of both poolers (session|transaction|statement)
#   BENCH_PROTO=simple  pgbench -M (simple|extended|prepared)
#   LG_BINARY=...       lifeguard binary (default build/release/lifeguard)
#   PGBOUNCER_BINARY=/usr/sbin/pgbouncer
#   BENCH_OUT=bench/results/YYYY-MM-DD.md   where the report goes
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T=${BENCH_T:-20}
ROUNDS=${BENCH_ROUNDS:-1}
SCALE=${BENCH_SCALE:-10}
CLIENTS=${BENCH_CLIENTS:-16}
POOL=${BENCH_POOL:-$CLIENTS}
MODE=${BENCH_MODE:-session}
PROTO=${BENCH_PROTO:-simple}
lg_bin=$(readlink -f "${LG_BINARY:-$repo/build/release/lifeguard}")
pgb_bin=$(readlink -f "${PGBOUNCER_BINARY:-/usr/sbin/pgbouncer}")
out=${BENCH_OUT:-$repo/bench/results/$(date +%F).md}
pgbin=/usr/lib/postgresql/15/bin
py=/usr/bin/python3

die() {
    echo "bench: $*" >&2
    exit 1
}
[ -x "$lg_bin" ] || die "$lg_bin not found (make BUILD=release, or make bench)"
[ -x "$pgb_bin" ] || die "$pgb_bin not found (scripts/deps.sh installs pgbouncer)"
[ -x "$pgbin/pgbench" ] || die "PostgreSQL 15 not installed (scripts/deps.sh)"
for v in "$T" "$ROUNDS" "$SCALE" "$CLIENTS"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "BENCH_T/ROUNDS/SCALE/CLIENTS must be positive integers"
done

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
cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
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
wait_port() { # port pid name
    for _ in $(seq 100); do
        port_accepts "$1" && return 0
        kill -0 "$2" 2>/dev/null || {
            tail -n 20 "$work/$3.log" >&2
            die "$3 exited during startup"
        }
        sleep 0.1
    done
    die "$3 not listening on $1 after 10 s"
}
# utime+stime of a pid in clock ticks, and each alone: "user sys"
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
clk_tck=$(getconf CLK_TCK)
# clock ticks over transactions -> µs per transaction
per_tx() { awk -v d="$1" -v tx="$2" -v hz="$clk_tck" 'BEGIN { printf "%.2f", d / hz * 1e6 / tx }'; }

# ---- PostgreSQL ----
pg_port=$(free_port)
echo "bench: PostgreSQL 15 on 127.0.0.1:$pg_port ($work/pg)"
as_owner "$pgbin/initdb" -D "$work/pg" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync >/dev/null
cat >>"$work/pg/postgresql.conf" <<EOF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
max_connections = 200
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
export PGPASSWORD=bench
echo "bench: pgbench -i -s $SCALE"
timeout 600 "$pgbin/pgbench" -h 127.0.0.1 -p "$pg_port" -U bench -i -s "$SCALE" -q bench \
    >"$work/pgbench-init.log" 2>&1 || {
    cat "$work/pgbench-init.log" >&2
    die "pgbench -i failed"
}

# ---- the two poolers, same settings ----
start_pooler() { # name binary -> sets started_port, started_pid
    local name=$1 bin=$2 section=lifeguard port
    case "$(basename "$bin")" in *pgbouncer*) section=pgbouncer ;; esac
    port=$(free_port)
    mkdir -p "$work/$name.sock"
    cat >"$work/$name.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$pg_port dbname=bench

[$section]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $work/$name.sock
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = $MODE
default_pool_size = $POOL
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits
EOF
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$work"
    spawn_owner "$bin" "$work/$name.ini" >"$work/$name.log" 2>&1
    local pid=$!
    pids+=("$pid")
    wait_port "$port" "$pid" "$name"
    started_port=$port
    started_pid=$pid
}
start_pooler pgbouncer "$pgb_bin"
port_pgbouncer=$started_port pid_pgbouncer=$started_pid
start_pooler lifeguard "$lg_bin"
port_lifeguard=$started_port pid_lifeguard=$started_pid
echo "bench: PgBouncer on $port_pgbouncer (pid $pid_pgbouncer)," \
    "lifeguard on $port_lifeguard (pid $pid_lifeguard)"

# ---- interleaved runs ----
results=$work/results.tsv
: >"$results"
run_one() { # round target port pid-or-empty
    local round=$1 target=$2 port=$3 pid=$4 before after log=$work/run-$1-$2.log
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    if ! timeout $((T + 120)) "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U bench -n -S \
        -M "$PROTO" -c "$CLIENTS" -j 2 -T "$T" bench >"$log" 2>&1; then
        # A pooler that cannot run this protocol (PgBouncer 1.18 and -M prepared in
        # transaction mode) is reported as failed, not fatal to the whole run.
        tail -n 3 "$log" >&2
        printf '%s\t%s\t-\t-\t-\t-\t-\n' "$round" "$target" >>"$results"
        printf 'bench: round %s %-9s FAILED (see above)\n' "$round" "$target"
        return 0
    fi
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    local tps tx failed lat user=- sys=-
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log" | tail -n 1)
    tx=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$log")
    failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$log")
    lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$log")
    [ "${failed:-0}" = 0 ] || die "$target: $failed failed transactions"
    if [ -n "$pid" ]; then
        read -r ub sb <<<"$before"
        read -r ua sa <<<"$after"
        user=$(per_tx $((ua - ub)) "$tx")
        sys=$(per_tx $((sa - sb)) "$tx")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" "$tps" "$tx" "$lat" "$user" "$sys" \
        >>"$results"
    printf 'bench: round %s %-9s tps %10s  latency %6s ms  pooler CPU µs/tx user %s sys %s\n' \
        "$round" "$target" "$tps" "$lat" "$user" "$sys"
}
for round in $(seq "$ROUNDS"); do
    run_one "$round" direct "$pg_port" ""
    run_one "$round" pgbouncer "$port_pgbouncer" "$pid_pgbouncer"
    run_one "$round" lifeguard "$port_lifeguard" "$pid_lifeguard"
done
unset PGPASSWORD

# ---- report ----
lg_version=$("$lg_bin" --version 2>&1 | head -n 1 || true)
pgb_version=$("$pgb_bin" --version 2>&1 | head -n 1 || true)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$(dirname "$out")"
"$py" - "$results" >"$out.tmp" <<EOF
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def num(x):
    return None if x == "-" else float(x)
print("# Benchmark $(date +%F)")
print()
print("pgbench -S -M $PROTO -c $CLIENTS -j 2 -T $T, scale $SCALE, $ROUNDS round(s), "
      "interleaved direct / PgBouncer / lifeguard; $MODE mode, default_pool_size=$POOL, "
      "scram-sha-256, TCP loopback.")
print()
print("- machine: $(nproc) cores, $(uname -sr), commit $commit")
print("- lifeguard: \`$lg_bin\` ($lg_version)")
print("- PgBouncer: \`$pgb_bin\` ($pgb_version)")
print("- pooler CPU = utime and stime of the pooler process (/proc/PID/stat) over the run,")
print("  divided by the transactions pgbench completed")
print()
print("| round | target | tps | transactions | latency ms "
      "| pooler user µs/tx | pooler sys µs/tx | pooler total µs/tx |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r, target, tps, tx, lat, user, sysc in rows:
    if tps == "-":
        print(f"| {r} | {target} | FAILED | - | - | - | - | - |")
        continue
    tot = "-" if user == "-" else f"{float(user) + float(sysc):.2f}"
    print(f"| {r} | {target} | {float(tps):.0f} | {tx} | {lat} | {user} | {sysc} | {tot} |")
print()
summary = {}
for target in ("direct", "pgbouncer", "lifeguard"):
    sel = [x for x in rows if x[1] == target and x[2] != "-"]
    tps = statistics.median(float(x[2]) for x in sel) if sel else None
    cpu = None
    if target != "direct" and sel:
        cpu = statistics.median(float(x[5]) + float(x[6]) for x in sel)
    summary[target] = (tps, cpu)
print("| target | median tps | median pooler µs/tx |")
print("|---|---:|---:|")
for target, (tps, cpu) in summary.items():
    t = "FAILED" if tps is None else f"{tps:.0f}"
    print(f"| {target} | {t} | {'-' if cpu is None else f'{cpu:.2f}'} |")
print()
lt, lc = summary["lifeguard"]
bt, bc = summary["pgbouncer"]
if lt and bt:
    print(f"- lifeguard / PgBouncer tps: **{lt / bt:.3f}**")
    print(f"- lifeguard / PgBouncer CPU per transaction: **{lc / bc:.3f}**" if bc else
          "- lifeguard / PgBouncer CPU per transaction: n/a (PgBouncer used no measurable CPU)")
else:
    print(f"- lifeguard / PgBouncer: n/a ({'PgBouncer' if not bt else 'lifeguard'} failed this protocol)")
if lt and summary['direct'][0]:
    print(f"- lifeguard / direct tps: {lt / summary['direct'][0]:.3f}")
EOF
mv "$out.tmp" "$out"
keep=0
echo
cat "$out"
echo
echo "bench: wrote $out"
