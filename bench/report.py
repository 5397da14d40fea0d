#!/usr/bin/python3
"""bench/report.py WORKDIR OUT.json: bench/run.sh's raw TSVs -> Markdown (stdout) + JSON.

Reads WORKDIR/{results,latency,extras}.tsv and meta.json (see bench/run.sh).
Medians over rounds, spread = min-max, ratios = lifeguard median / PgBouncer median.
"relay" is bench/relay.c: a relay that only copies bytes, the floor under a pooler's CPU.
"""
import json
import statistics
import sys

work, json_out = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{work}/meta.json"))
TARGETS = ("direct", "pgbouncer", "lifeguard", "relay")
DESCR = {
    "S": "pgbench -S, simple protocol",
    "ext": "pgbench -S -M extended",
    "prep": "pgbench -S -M prepared",
    "conn": "pgbench -S -C (new connection per transaction)",
    "tpcb": "pgbench tpcb-like (default script)",
    "lat": "pgbench -S -l (per-transaction latency)",
    "custom": "pgbench -S (custom)",
}


def rows(name):
    try:
        return [l.rstrip("\n").split("\t") for l in open(f"{work}/{name}") if l.strip()]
    except FileNotFoundError:
        return []


def fnum(x):
    return None if x in ("-", "", None) else float(x)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs, fmt):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    if len(xs) == 1:
        return fmt(xs[0])
    return f"{fmt(min(xs))}–{fmt(max(xs))}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


f0 = lambda x: f"{x:.0f}"
f2 = lambda x: f"{x:.2f}"
f3 = lambda x: f"{x:.3f}"
r2 = lambda x: "n/a" if x is None else f"**{x:.2f}**"

# ---- pgbench scenarios ----
scen = {}  # name -> target -> list of dicts
order = []
for sc, rnd, target, tps, tx, lat, user, sysc in rows("results.tsv"):
    if sc not in scen:
        scen[sc] = {}
        order.append(sc)
    cpu = None if user == "-" or tps == "-" else float(user) + float(sysc)
    scen[sc].setdefault(target, []).append(
        {"round": int(rnd), "tps": fnum(tps), "tx": fnum(tx), "latency_ms": fnum(lat),
         "cpu_us_tx": cpu, "user_us_tx": fnum(user), "sys_us_tx": fnum(sysc),
         "failed": tps == "-"})
for sc, rnd, target, p50, p99, p999, n in rows("latency.tsv"):
    for r in scen[sc][target]:
        if r["round"] == int(rnd):
            r.update(p50_ms=float(p50), p99_ms=float(p99), p999_ms=float(p999), samples=int(n))

summary = {}
for sc in order:
    s = {}
    for t, rs in scen[sc].items():
        ok = [r for r in rs if not r["failed"]]
        s[t] = {"tps": med(r["tps"] for r in ok), "cpu": med(r["cpu_us_tx"] for r in ok),
                "failed": len(rs) - len(ok), "rounds": len(rs)}
        for k in ("p50_ms", "p99_ms", "p999_ms"):
            s[t][k] = med(r.get(k) for r in ok)
    lg, pb = s.get("lifeguard", {}), s.get("pgbouncer", {})
    s["ratio_tps"] = ratio(lg.get("tps"), pb.get("tps"))
    s["ratio_cpu"] = ratio(lg.get("cpu"), pb.get("cpu"))
    s["ratio_p99"] = ratio(lg.get("p99_ms"), pb.get("p99_ms"))
    summary[sc] = s

# ---- extras ----
ex = {}
for kind, target, key, val in rows("extras.tsv"):
    ex.setdefault(kind, {}).setdefault(target, {})[key] = float(val)
def marginal(kind):
    out = {}
    for t, d in ex.get(kind, {}).items():
        rates = sorted(int(k[3:]) for k in d if k.startswith("ir_"))
        if len(rates) >= 2:
            lo, hi = rates[0], rates[-1]
            dtx = d[f"tx_{hi}"] - d[f"tx_{lo}"]
            out[t] = {"lo_rate": lo, "hi_rate": hi, "tx_lo": d[f"tx_{lo}"], "tx_hi": d[f"tx_{hi}"],
                      "ir_lo": d[f"ir_{lo}"], "ir_hi": d[f"ir_{hi}"],
                      "ir_per_tx": (d[f"ir_{hi}"] - d[f"ir_{lo}"]) / dtx if dtx > 0 else None}
    return out


cg = marginal("callgrind")  # the pool filled to its size: a server per client
cg_few = marginal("callgrind_few")  # 4 servers for the 16 clients
st = {}
for t, d in ex.get("strace", {}).items():
    tx = d.get("tx")
    calls = {k[6:]: v for k, v in d.items() if k.startswith("calls_") and k != "calls_total"}
    st[t] = {"tx": tx, "total": d.get("calls_total"),
             "per_tx": d.get("calls_total", 0) / tx if tx else None,
             "by_call": {k: v / tx for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}}
mem = {}
for t, d in ex.get("memory", {}).items():
    for k in d:
        if k.startswith("after_"):
            n = int(k[6:])
            ok = d.get(f"ok_{n}", 0)
            mem.setdefault(n, {})[t] = {
                "before_kib": d[f"before_{n}"], "after_kib": d[k], "clients": ok,
                "bytes_per_client": (d[k] - d[f"before_{n}"]) * 1024 / ok if ok else None}

json.dump({"meta": meta, "scenarios": scen, "summary": summary, "callgrind": cg,
           "callgrind_few": cg_few,
           "strace": st, "memory": {str(k): v for k, v in mem.items()}},
          open(json_out, "w"), indent=1)

# ---- Markdown ----
P = print
m = meta
P(f"# Benchmark {m['date']}{' (BENCH_QUICK=1: 1 short round, indicative only)' if m['quick'] else ''}")
P()
P(f"`bench/run.sh` (`make bench`): PostgreSQL 15 directly, through {m['pgbouncer']} and through "
  f"{m['lifeguard']}, interleaved (direct, PgBouncer, lifeguard per scenario, then the next "
  f"scenario; {m['rounds']} round(s) of {m['T']} s per run). Both poolers: pool_mode={m['mode']}, "
  f"default_pool_size={m['pool']}, scram-sha-256 with one userlist; pgbench to the "
  f"poolers over TCP loopback, the poolers to PostgreSQL over "
  f"{'its Unix socket' if m.get('server', 'tcp') == 'unix' else 'TCP loopback'}; pgbench scale "
  f"{m['scale']}, `-j 2`.")
P()
P(f"- machine: {m['cores']} cores ({m['cpu']}), {m['kernel']}; commit {m['commit']}; "
  f"suite took {m['elapsed_s']} s")
P("- pooler CPU = utime+stime of the pooler process (/proc/PID/stat, 10 ms ticks) over the "
  "run, divided by the transactions pgbench completed; pgbench and PostgreSQL share the same "
  "2 cores, so tps is noisy and CPU per transaction is the steadier figure")
P("- medians over rounds; spread = min–max over rounds; ratio = lifeguard median / PgBouncer median")
P()

# targets
def pf(ok):
    return "n/a" if ok is None else ("**pass**" if ok else "**FAIL**")


def tgt_row(figure, target, pb, lg, rat, ok, fmt=f2):
    P(f"| {figure} | {target} | {'-' if pb is None else fmt(pb)} | {'-' if lg is None else fmt(lg)} "
      f"| {'n/a' if rat is None else f'{rat:.2f}'} | {pf(ok)} |")


P("## Summary against the targets (issue 6)")
P()
P("| figure | target | PgBouncer | lifeguard | ratio | result |")
P("|---|---|---:|---:|---:|---|")
if cg.get("pgbouncer") and cg.get("lifeguard"):
    a, b = cg["lifeguard"]["ir_per_tx"], cg["pgbouncer"]["ir_per_tx"]
    rr = ratio(a, b)
    tgt_row("instructions per `-S` tx (callgrind, pool filled)", "<= 0.5x", b, a, rr, rr is not None and rr <= 0.5, f0)
for sc in ("S-c16", "S-c256"):
    if sc in summary:
        s = summary[sc]
        rr = s["ratio_cpu"]
        tgt_row(f"pooler CPU µs/tx, `{sc}`", "<= 0.6x", s["pgbouncer"]["cpu"], s["lifeguard"]["cpu"],
                rr, None if rr is None else rr <= 0.6)
for sc in ("S-c16", "S-c64", "S-c256", "ext-c64", "prep-c64", "conn-c64"):
    if sc in summary:
        s = summary[sc]
        lim = 1.2 if sc.startswith("conn") else 1.1
        rr = s["ratio_tps"]
        ok = None if rr is None else rr >= lim
        if rr is None and s["pgbouncer"]["tps"] is None and s["lifeguard"]["tps"] is not None:
            P(f"| tps, `{sc}` | >= {lim}x | fails | {s['lifeguard']['tps']:.0f} | n/a | "
              "n/a (PgBouncer fails this protocol) |")
            continue
        tgt_row(f"tps, `{sc}`" + (f" (PgBouncer failed {s['pgbouncer']['failed']} of "
                f"{s['pgbouncer']['rounds']} runs)" if s["pgbouncer"].get("failed") else ""),
                f">= {lim}x", s["pgbouncer"]["tps"], s["lifeguard"]["tps"], rr, ok, f0)
if "lat-c1000" in summary:
    s = summary["lat-c1000"]
    rr = s["ratio_p99"]
    tgt_row("p99 latency ms, 1,000 clients", "<= 0.8x", s["pgbouncer"]["p99_ms"],
            s["lifeguard"]["p99_ms"], rr, None if rr is None else rr <= 0.8)
    lp50, lp99 = s["lifeguard"]["p50_ms"], s["lifeguard"]["p99_ms"]
    bp50, bp99 = s["pgbouncer"]["p50_ms"], s["pgbouncer"]["p99_ms"]
    tail = ratio(lp99, lp50)
    tgt_row("p99/p50, 1,000 clients", "lifeguard <= 1.5", ratio(bp99, bp50), tail, None,
            None if tail is None else tail <= 1.5)
if mem:
    n = max(mem)
    d = mem[n]
    if "pgbouncer" in d and "lifeguard" in d:
        a, b = d["lifeguard"]["bytes_per_client"], d["pgbouncer"]["bytes_per_client"]
        rr = ratio(a, b)
        tgt_row(f"RSS bytes per idle client, {n:,} clients", "<= 1.0x and < 2 KiB", b, a, rr,
                None if a is None or rr is None else (rr <= 1.0 and a < 2048), f0)
if st.get("pgbouncer") and st.get("lifeguard"):
    a, b = st["lifeguard"]["per_tx"], st["pgbouncer"]["per_tx"]
    rr = ratio(a, b)
    tgt_row("system calls per `-S` tx (strace)", "<= 0.75x", b, a, rr, rr is not None and rr <= 0.75)
P()

P("## All scenarios (medians)")
P()
P("| scenario | clients | direct tps | PgBouncer tps | lifeguard tps | tps ratio "
  "| PgBouncer µs/tx | lifeguard µs/tx | CPU ratio |")
P("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for sc in order:
    s = summary[sc]
    cl = sc.rsplit("-c", 1)[-1] if "-c" in sc else "?"
    def g(t, k, fmt):
        v = s.get(t, {}).get(k)
        if t in s and v is None and s[t]["failed"]:
            return "fails"
        return "-" if v is None else fmt(v)
    P(f"| `{sc}` | {cl} | {g('direct', 'tps', f0)} | {g('pgbouncer', 'tps', f0)} | "
      f"{g('lifeguard', 'tps', f0)} | {r2(s['ratio_tps'])} | {g('pgbouncer', 'cpu', f2)} | "
      f"{g('lifeguard', 'cpu', f2)} | {r2(s['ratio_cpu'])} |")
P()

floor = [sc for sc in order if summary[sc].get("relay", {}).get("cpu") is not None]
if floor:
    P("## The floor: a relay that only copies bytes (bench/relay.c)")
    P()
    P("bench/relay.c gives each client its own server connection and copies bytes both ways "
      "with recv() and send(), readiness from one epoll_wait() per batch: no protocol, no "
      "pooling, no authentication of its own. Its CPU per transaction is the kernel's share "
      "of relaying a query and its answer over loopback TCP (two sends, each also running the "
      "receiver's TCP input and waking it, two receives, the waits), which every pooler built "
      "on sockets pays; a pooler's own work comes on top.")
    P()
    P("| scenario | relay µs/tx | PgBouncer µs/tx | lifeguard µs/tx | PgBouncer / relay "
      "| lifeguard / relay | 0.6x PgBouncer / relay |")
    P("|---|---:|---:|---:|---:|---:|---:|")
    for sc in floor:
        s = summary[sc]
        rl, pb, lg = s["relay"]["cpu"], s.get("pgbouncer", {}).get("cpu"), s.get("lifeguard", {}).get("cpu")
        def rr(x):
            return "-" if x is None else f"{x / rl:.2f}"
        P(f"| `{sc}` | {rl:.2f} | {'-' if pb is None else f2(pb)} | {'-' if lg is None else f2(lg)} "
          f"| {rr(pb)} | {rr(lg)} | {rr(None if pb is None else 0.6 * pb)} |")
    P()

for sc in order:
    kind = sc.rsplit("-c", 1)[0]
    s = summary[sc]
    P(f"### `{sc}`: {DESCR.get(kind, sc)}, {sc.rsplit('-c', 1)[-1]} clients")
    P()
    lat = kind == "lat"
    hdr = "| target | median tps | tps spread | median µs/tx | µs/tx spread | median user / sys µs/tx |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if lat:
        hdr += " p50 ms | p99 ms | p99.9 ms | p99/p50 |"
        sep += "---:|---:|---:|---:|"
    P(hdr)
    P(sep)
    for t in TARGETS:
        if t not in scen[sc]:
            continue
        rs = scen[sc][t]
        ok = [r for r in rs if not r["failed"]]
        if not ok:
            P(f"| {t} | fails ({len(rs)}/{len(rs)} runs) | | | | |" + (" | | | |" if lat else ""))
            continue
        us = med(r["user_us_tx"] for r in ok)
        sy = med(r["sys_us_tx"] for r in ok)
        nfail = len(rs) - len(ok)
        failnote = f" ({nfail} of {len(rs)} runs failed)" if nfail else ""
        line = (f"| {t} | {s[t]['tps']:.0f} | {spread([r['tps'] for r in ok], f0)}{failnote} | "
                f"{'-' if s[t]['cpu'] is None else f2(s[t]['cpu'])} | "
                f"{spread([r['cpu_us_tx'] for r in ok], f2)} | "
                f"{'-' if us is None else f'{us:.2f} / {sy:.2f}'} |")
        if lat:
            p50, p99, p999 = s[t]["p50_ms"], s[t]["p99_ms"], s[t]["p999_ms"]
            line += (f" {f3(p50)} | {f3(p99)} ({spread([r.get('p99_ms') for r in ok], f3)}) | "
                     f"{f3(p999)} | {p99 / p50:.2f} |")
        P(line)
    P()
    extra = f"lifeguard / PgBouncer: tps {r2(s['ratio_tps'])}, CPU per transaction {r2(s['ratio_cpu'])}"
    if lat:
        extra += f", p99 {r2(s['ratio_p99'])}"
    P(f"- {extra}")
    P()

if cg:
    P("## Instructions per `-S` transaction (callgrind)")
    P()
    P(f"Each pooler started under `valgrind --tool=callgrind`, pgbench `-S -c 16 -j 2 -T {m['cg_t']}` "
      "run twice at two `-R` rates (same wall time, so timer-driven work cancels; so do start-up "
      "and the 16 SCRAM logins); instructions = (Ir2 - Ir1) / (tx2 - tx1). Paced transactions "
      "arrive one at a time, so this is the unbatched cost per transaction (each needs its own "
      "wake-up of the pooler), the same for both poolers. Two pool shapes, the same for both: "
      f"the pool filled to its size (`default_pool_size = min_pool_size = {m['pool']}`: a server "
      "per client, as in `S-c16`; the target's figure), and 4 servers for the 16 clients "
      "(`default_pool_size = min_pool_size = 4`: more clients than servers). Filled pools keep "
      "server logins out of the difference (under valgrind a slow pooler queues clients and "
      "opens servers at random moments).")
    P()
    P("| pool | pooler | -R low: tx / Ir | -R high: tx / Ir | instructions per tx | ratio |")
    P("|---|---|---:|---:|---:|---:|")
    for label, d in ((f"{m['pool']} servers (filled)", cg), ("4 servers", cg_few)):
        for t in ("pgbouncer", "lifeguard"):
            if t in d:
                c = d[t]
                rr = ratio(c["ir_per_tx"], d.get("pgbouncer", {}).get("ir_per_tx"))
                P(f"| {label} | {t} | {c['tx_lo']:.0f} / {c['ir_lo']:.0f} | {c['tx_hi']:.0f} / "
                  f"{c['ir_hi']:.0f} | **{'-' if c['ir_per_tx'] is None else f0(c['ir_per_tx'])}** | "
                  f"{'' if t == 'pgbouncer' or rr is None else f'{rr:.2f}'} |")
    P()
if st:
    P("## System calls per `-S` transaction (strace -c -f)")
    P()
    P("pgbench `-S -c 16 -j 2` for a few seconds with `strace -c -f -p PID` attached to a fresh "
      "pooler (the 16 logins are included: a few hundred calls). strace slows the pooler, "
      "which changes batching somewhat (fewer events per wait).")
    P()
    P("| pooler | transactions | calls | calls per tx | top calls per tx |")
    P("|---|---:|---:|---:|---|")
    for t in ("pgbouncer", "lifeguard", "relay"):
        if t in st:
            x = st[t]
            top = ", ".join(f"{k} {v:.2f}" for k, v in list(x["by_call"].items())[:6])
            P(f"| {t} | {x['tx']:.0f} | {x['total']:.0f} | **{x['per_tx']:.2f}** | {top} |")
    P()
if mem:
    P("## Pooler memory per idle client")
    P()
    P("A fresh pooler per count with auth_type=trust (the client script, bench/idle_clients.py, "
      "speaks no password protocol), one login first so the pool's server connection exists, then "
      "N clients log in and stay idle; VmRSS from /proc/PID/status before and 1 s after.")
    P()
    P("| idle clients | pooler | logged in | VmRSS before KiB | VmRSS after KiB | bytes per client |")
    P("|---:|---|---:|---:|---:|---:|")
    for n in sorted(mem):
        for t in ("pgbouncer", "lifeguard"):
            if t in mem[n]:
                x = mem[n][t]
                b = x["bytes_per_client"]
                P(f"| {n:,} | {t} | {x['clients']:.0f} | {x['before_kib']:.0f} | {x['after_kib']:.0f} "
                  f"| **{'-' if b is None else f0(b)}** |")
    P()
