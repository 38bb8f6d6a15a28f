#!/usr/bin/env python3
"""Turns a bench/run.sh results directory into Markdown tables (standard library only).

    report.py RESULTS_DIR            print the tables and the target check
    report.py --check RESULTS_DIR    exit 1 if any run had failed requests (no timing checks)

Ratios and "added" latencies are taken per repetition against `direct` in the same
repetition, then the median over repetitions is shown.
"""
import glob
import json
import os
import re
import statistics
import sys

LOAD_CASES = [
    ("ns-c32", "non-stream, 32 connections"),
    ("ns-c1", "non-stream, 1 connection"),
    ("ns-c128", "non-stream, 128 connections"),
    ("st-c32", "stream, 32 connections"),
    ("d50-c32", "non-stream, 50 ms upstream, 32 connections"),
    ("cache-c32", "cache hits, 32 connections (direct: the ns-c32 direct run)"),
]
PROBE_CASES = [
    ("ttfb", "sequential stream"),
    ("d50-ttfb", "sequential stream, 50 ms upstream"),
]
FLEET_CASES = [
    ("fleet-ns-c32", "non-stream, 32 connections"),
    ("fleet-st-c32", "stream, 32 connections"),
]
NAME = re.compile(r"^(?P<case>[a-z0-9-]+?)-(?P<target>direct|switchboard|fleet)-r(?P<rep>\d+)\.json$")


def load_json(path):
    with open(path) as f:
        return json.loads(f.read())


def collect(raw):
    """{(case, target): {rep: (result, meta)}}"""
    runs = {}
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        meta_path = path[: -len(".json")] + ".meta.json"
        meta = load_json(meta_path) if os.path.exists(meta_path) else {}
        runs.setdefault((m["case"], m["target"]), {})[int(m["rep"])] = (load_json(path), meta)
    return runs


def load_row(result, meta, target):
    secs = result["duration_us"] / 1e6
    ok = result["requests"] - result["errors"]["status"]
    lat = result["latency_us"]
    ticks = meta.get("upstream_cpu_ticks" if target == "direct" else "gw_cpu_ticks", 0)
    cpu_us = ticks / meta.get("clk_tck", 100) * 1e6 / max(result["requests"], 1)
    return {
        "redis_cpu": meta.get("redis_cpu_ticks", 0) / meta.get("clk_tck", 100) * 1e6 / max(result["requests"], 1),
        "rps": ok / secs if secs else 0.0,
        "p50": lat["p50"] / 1000, "p90": lat["p90"] / 1000, "p99": lat["p99"] / 1000,
        "cpu": cpu_us,
        "rss": meta.get("gw_rss_kb", 0) / 1024, "hwm": meta.get("gw_hwm_kb", 0) / 1024,
    }


def probe_row(result, meta):
    n = max(result.get("n", 0), 1)
    ticks = meta.get("gw_cpu_ticks", 0)
    row = {"n": result.get("n", 0), "cpu": ticks / meta.get("clk_tck", 100) * 1e6 / n}
    for key in ("first", "done"):
        for p in ("p50", "p90", "p99"):
            row[f"{key}_{p}"] = result.get(key, {}).get(p, float("nan"))
    return row


def median(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=2):
    if x != x:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def signed(x, digits=2):
    return "–" if x != x else f"{x:+.{digits}f}"


def summarize(runs, kind, base_case=None):
    """Per case: direct and switchboard medians, plus per-rep ratio/added medians."""
    out = {}
    cases = LOAD_CASES if kind == "load" else PROBE_CASES
    for case, _ in cases:
        sb = runs.get((case, "switchboard"), {})
        direct = runs.get((base_case(case) if base_case else case, "direct"), {})
        if not sb:
            continue
        rows = {}
        for target, reps in (("direct", direct), ("switchboard", sb)):
            per_rep = {}
            for rep, (result, meta) in reps.items():
                per_rep[rep] = load_row(result, meta, target) if kind == "load" else probe_row(result, meta)
            rows[target] = per_rep
        out[case] = rows
    return out


def med(per_rep, key):
    return median([r[key] for r in per_rep.values()])


def paired(rows, key, op):
    d, s = rows.get("direct", {}), rows.get("switchboard", {})
    reps = sorted(set(d) & set(s))
    if not reps and d and s:  # e.g. the cache case compares against every direct repetition
        return op(s[min(s)][key], med(d, key))
    return median([op(s[r][key], d[r][key]) for r in reps])


def ratio(a, b):
    return a / b if b else float("nan")


def diff(a, b):
    return a - b


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = args[0]
    raw = os.path.join(root, "raw")
    runs = collect(raw)
    if check:
        return check_failures(runs)

    load = summarize(runs, "load", base_case=lambda c: "ns-c32" if c == "cache-c32" else c)
    probes = summarize(runs, "probe")
    start = load_json(os.path.join(raw, "start.json")) if os.path.exists(os.path.join(raw, "start.json")) else {}
    end = load_json(os.path.join(raw, "end.json")) if os.path.exists(os.path.join(raw, "end.json")) else {}
    env = open(os.path.join(root, "env.txt")).read() if os.path.exists(os.path.join(root, "env.txt")) else ""

    print("# switchboard overhead benchmark\n")
    print("```\n" + env.strip() + "\n```\n")
    print("## Load (wrk, one thread, fixed connection count)\n")
    print("CPU µs/req is switchboard's own utime+stime per request; on `direct` rows it is the mock's.")
    print("RSS is switchboard's after the run (peak so far).")
    if " RT=1 " in env:
        print("With RT=1, a run that saturates its core is paused by the kernel's RT throttling for")
        print("50 ms of every second: its p99 shows those pauses, not the gateway.")
    print()
    print("| case | target | req/s | × direct | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | CPU µs/req | RSS MiB (peak) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, label in LOAD_CASES:
        rows = load.get(case)
        if not rows:
            continue
        for target in ("direct", "switchboard"):
            per = rows.get(target)
            if not per:
                continue
            if target == "direct":
                cells = ["1.00", "–", "–", f"{fmt(med(per, 'cpu'), 1)} (mock)", "–"]
            else:
                cells = [fmt(paired(rows, "rps", ratio), 3), signed(paired(rows, "p50", diff)),
                         signed(paired(rows, "p99", diff)), fmt(med(per, "cpu"), 1),
                         f"{fmt(med(per, 'rss'), 1)} ({fmt(med(per, 'hwm'), 1)})"]
            print(f"| {label if target == 'direct' else ''} | {target} | {fmt(med(per, 'rps'), 0)} | {cells[0]} | "
                  f"{fmt(med(per, 'p50'))} | {fmt(med(per, 'p90'))} | {fmt(med(per, 'p99'))} | "
                  f"{cells[1]} | {cells[2]} | {cells[3]} | {cells[4]} |")
    print()
    print("## Sequential streaming (one request at a time, one keep-alive connection)\n")
    print("TTFB: time from sending the request to the first complete SSE event; full: to the end of the body.\n")
    print("| case | target | n | TTFB p50 ms | TTFB p90 ms | TTFB p99 ms | added TTFB p50 ms | added TTFB p99 ms | full p50 ms | added full p50 ms | CPU µs/req |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, label in PROBE_CASES:
        rows = probes.get(case)
        if not rows:
            continue
        for target in ("direct", "switchboard"):
            per = rows.get(target)
            if not per:
                continue
            sb = target == "switchboard"
            print(f"| {'' if sb else label} | {target} | {int(med(per, 'n'))} | {fmt(med(per, 'first_p50'))} | "
                  f"{fmt(med(per, 'first_p90'))} | {fmt(med(per, 'first_p99'))} | "
                  f"{signed(paired(rows, 'first_p50', diff)) if sb else '–'} | "
                  f"{signed(paired(rows, 'first_p99', diff)) if sb else '–'} | {fmt(med(per, 'done_p50'))} | "
                  f"{signed(paired(rows, 'done_p50', diff)) if sb else '–'} | {fmt(med(per, 'cpu'), 1) if sb else '–'} |")
    print()

    print_fleet(runs)

    rss_start = start.get("rss_kb_after_start", 0) / 1024
    hwm_c128 = med(load.get("ns-c128", {}).get("switchboard", {}), "hwm") if "ns-c128" in load else float("nan")
    print("## Memory (switchboard)\n")
    print(f"RSS after start: {fmt(rss_start, 1)} MiB; peak (VmHWM) after the c=128 run: {fmt(hwm_c128, 1)} MiB; "
          f"at the end: RSS {fmt(end.get('rss_kb_end', 0) / 1024, 1)} MiB, peak {fmt(end.get('hwm_kb_end', 0) / 1024, 1)} MiB.\n")

    print("## Targets\n")
    print("| target | goal | measured | status |")
    print("|---|---|---|---|")

    def line(name, goal, value, ok, unit=""):
        if value != value:
            print(f"| {name} | {goal} | not measured | – |")
            return
        status = "met" if ok(value) else "NOT met"
        print(f"| {name} | {goal} | {fmt(value, 3 if unit == '×' else 2)}{unit} | {status} |")

    ns = load.get("ns-c32", {})
    st = load.get("st-c32", {})
    tt = probes.get("ttfb", {})
    c1 = load.get("ns-c1", {})
    line("non-stream throughput, c=32", "≥ 0.6× direct", paired(ns, "rps", ratio) if ns else float("nan"), lambda v: v >= 0.6, "×")
    line("CPU per request, c=32", "≤ 40 µs", med(ns.get("switchboard", {}), "cpu") if ns else float("nan"), lambda v: v <= 40, " µs")
    line("added p50, c=1", "≤ 0.1 ms", paired(c1, "p50", diff) if c1 else float("nan"), lambda v: v <= 0.1, " ms")
    line("added p99, c=1", "≤ 0.15 ms", paired(c1, "p99", diff) if c1 else float("nan"), lambda v: v <= 0.15, " ms")
    line("CPU per request, c=1", "≤ 80 µs", med(c1.get("switchboard", {}), "cpu") if c1 else float("nan"), lambda v: v <= 80, " µs")
    line("added TTFB p50, sequential stream", "≤ 0.15 ms", paired(tt, "first_p50", diff) if tt else float("nan"), lambda v: v <= 0.15, " ms")
    line("stream throughput, c=32", "≥ 0.8× direct", paired(st, "rps", ratio) if st else float("nan"), lambda v: v >= 0.8, "×")
    line("RSS after start", "≤ 30 MiB", rss_start if start else float("nan"), lambda v: v <= 30, " MiB")
    line("peak RSS at c=128", "≤ 64 MiB", hwm_c128, lambda v: v <= 64, " MiB")
    cache = load.get("cache-c32")
    if cache:
        line("cache hits, c=32", "≥ 1.0× direct", paired(cache, "rps", ratio), lambda v: v >= 1.0, "×")
    else:
        print("| cache hits, c=32 | ≥ 1.0× direct | not run (no response cache in this build) | – |")
    return 0


def print_fleet(runs):
    """Fleet mode (cluster.redis on loopback) beside the single binary, same run, same key
    (budget and rate limit on): each request runs the admission and settle scripts."""
    if not any(runs.get((case, "fleet")) for case, _ in FLEET_CASES):
        return
    print("## Fleet mode: Redis on loopback vs the single binary\n")
    print("Both gateways run the same config (budget and rate limit on the key); `fleet` adds")
    print("`cluster.redis`: one admission script before the upstream call, one settle script after.")
    print("Runs alternate single, fleet in each repetition. CPU is the gateway's; Redis's own is apart.\n")
    print("| case | target | req/s | × single | p50 ms | p99 ms | added p50 ms | added p99 ms | CPU µs/req | added CPU µs/req | Redis CPU µs/req |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, label in FLEET_CASES:
        single = {rep: load_row(r, m, "switchboard") for rep, (r, m) in runs.get((case, "switchboard"), {}).items()}
        fleet = {rep: load_row(r, m, "fleet") for rep, (r, m) in runs.get((case, "fleet"), {}).items()}
        if not single or not fleet:
            continue
        rows = {"direct": single, "switchboard": fleet}
        print(f"| {label} | single | {fmt(med(single, 'rps'), 0)} | 1.00 | {fmt(med(single, 'p50'))} | "
              f"{fmt(med(single, 'p99'))} | – | – | {fmt(med(single, 'cpu'), 1)} | – | – |")
        print(f"| | fleet | {fmt(med(fleet, 'rps'), 0)} | {fmt(paired(rows, 'rps', ratio), 3)} | {fmt(med(fleet, 'p50'))} | "
              f"{fmt(med(fleet, 'p99'))} | {signed(paired(rows, 'p50', diff))} | {signed(paired(rows, 'p99', diff))} | "
              f"{fmt(med(fleet, 'cpu'), 1)} | {signed(paired(rows, 'cpu', diff), 1)} | {fmt(med(fleet, 'redis_cpu'), 1)} |")
    print()


def check_failures(runs):
    """Smoke check: every run answered, with no failed requests."""
    problems = []
    if not runs:
        problems.append("no results")
    for (case, target), reps in sorted(runs.items()):
        for rep, (result, _meta) in reps.items():
            if "requests" in result:
                e = result["errors"]
                failed = e["status"] + e["connect"] + e["read"] + e["write"] + e["timeout"]
                if result["requests"] == 0 or failed:
                    problems.append(f"{case} {target} r{rep}: {result['requests']} requests, errors {e}")
            elif result.get("n", 0) == 0 or result.get("errors", 0):
                problems.append(f"{case} {target} r{rep}: {result.get('n', 0)} probes, {result.get('errors')} errors")
    for p in problems:
        print(f"FAILED: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
