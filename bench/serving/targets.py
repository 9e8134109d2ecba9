#!/usr/bin/python3
"""Checks load_gen results against the serving targets (issue 4) and prints
one markdown table with pass/fail; draws the continuous-vs-static sweep plot.

    targets.py --continuous C.json --static-padded SP.json --static S.json \
               --single 1.json --streams16 16.json --prefix P.json [--plot sweep.png]

Two static baselines: `static-padded` is static batching as fixed-shape
engines run it (a finished request's row is computed until the whole batch
ends) and is the one the 1.5x target is judged against; `static` frees a
finished row from the compute and only refuses to refill it, a stronger
baseline reported beside it (its ratio is printed, it passes or fails
nothing). The sweep files' highest finite rate is the comparison point (the
same offered load in all of them)."""
import argparse
import json
import math
import sys

import report


def load(path):
    with open(path) as f:
        points = json.load(f)["points"]
    for p in points:
        p["rate"] = math.inf if p["rate"] == "inf" else p["rate"]
    return points


def top_point(points):
    return max(points, key=lambda p: p["rate"])


def num(x):
    return math.nan if x is None else x


def check_batching(cont, stat, baseline):
    c, s = top_point(cont), top_point(stat)
    if c["rate"] != s["rate"]:
        raise SystemExit(f"comparison points differ: {c['rate']} vs {s['rate']} req/s offered")
    cs, ss = c["summary"], s["summary"]
    ratio = num(cs["req_per_s"]) / num(ss["req_per_s"])
    ok = ratio >= 1.5 and num(cs["e2e_ms"]["p99"]) <= num(ss["e2e_ms"]["p99"])
    measured = (f"{cs['req_per_s']:.3f} vs {ss['req_per_s']:.3f} req/s = **{ratio:.2f}x**; "
                f"p99 E2E {cs['e2e_ms']['p99'] / 1000:.1f} s vs {ss['e2e_ms']['p99'] / 1000:.1f} s; "
                f"p99 TTFT {cs['ttft_ms']['p99'] / 1000:.1f} s vs {ss['ttft_ms']['p99'] / 1000:.1f} s "
                f"(offered {c['rate']:g} req/s)")
    return (f"continuous vs {baseline}: >= 1.5x req/s at <= p99 latency", measured, ok)


def check_streams(single, sixteen):
    one = num(single[0]["summary"]["decode_tok_per_s"])
    many = num(sixteen[0]["summary"]["decode_tok_per_s"])
    ratio = many / one
    measured = f"{many:.1f} vs {one:.1f} decode tok/s = **{ratio:.2f}x**"
    return ("16 streams vs 1: >= 3x aggregate decode tok/s", measured, ratio >= 3.0)


def check_prefix(prefix):
    by_kind = prefix[0]["summary"]["ttft_ms_by_kind"]
    miss, hit = num(by_kind["miss"]["mean"]), num(by_kind["hit"]["mean"])
    ratio = miss / hit
    measured = f"TTFT miss {miss:.0f} ms vs hit {hit:.0f} ms (means) = **{ratio:.1f}x**"
    return ("1000-token shared prefix: TTFT hit >= 10x faster than miss", measured, ratio >= 10.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("continuous", "static-padded", "static", "single", "streams16", "prefix"):
        ap.add_argument(f"--{name}", required=True)
    ap.add_argument("--plot")
    args = ap.parse_args(argv)
    cont, padded, stat = load(args.continuous), load(args.static_padded), load(args.static)
    rows = [check_batching(cont, padded, "static batching (fixed-shape)"),
            check_streams(load(args.single), load(args.streams16)), check_prefix(load(args.prefix))]
    reference = check_batching(cont, stat, "static, finished rows dropped (reference)")
    print("| target | measured | result |\n|---|---|---|")
    for name, measured, ok in rows:
        print(f"| {name} | {measured} | {'PASS' if ok else 'FAIL'} |")
    name, measured, ok = reference
    print(f"| {name} | {measured} | {'meets' if ok else 'misses'} 1.5x (not a target) |")
    if args.plot:
        report.plot_sweep({"continuous": cont, "static (fixed-shape)": padded,
                           "static (rows dropped)": stat}, args.plot)
        print(f"\nplot: {args.plot}")
    return 0 if all(ok for _, _, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
