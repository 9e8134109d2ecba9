"""Ratio table of bench/model/run.sh's rounds.

Input: one record per line, tab-separated:
    model, engine ("loom" | "llama.cpp"), round, pp tok/s, tg tok/s,
    weights MB read per token (loom only), read bandwidth GB/s (loom only)
Prints every round, then per model each engine's best round, Loom / llama.cpp,
and Loom's decode traffic against the bandwidth bench_model measured.
"""
import sys
from collections import defaultdict


def read(path):
    runs = defaultdict(lambda: defaultdict(list))  # model -> engine -> [record]
    with open(path) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 5:
                continue
            model, engine, rnd, pp, tg = cols[:5]
            mb = float(cols[5]) if len(cols) > 5 and cols[5] else None
            bw = float(cols[6]) if len(cols) > 6 and cols[6] else None
            runs[model][engine].append(
                {"round": int(rnd), "pp": float(pp), "tg": float(tg), "mb": mb, "bw": bw})
    return runs


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def main(path):
    runs = read(path)
    if not runs:
        sys.exit("summarize.py: no records (did the benchmarks fail?)")
    print("\n## Every round (tok/s)\n")
    print("| model | engine | round | pp512 | tg128 |")
    print("|---|---|---|---|---|")
    for model, engines in runs.items():
        for engine, recs in engines.items():
            for r in recs:
                print(f"| {model} | {engine} | {r['round']} | {r['pp']:.1f} | {r['tg']:.1f} |")
    print("\n## Best round of each engine, Loom / llama.cpp\n")
    print("| model | Loom pp512 | llama.cpp pp512 | prefill ratio | Loom tg128 | llama.cpp tg128 "
          "| decode ratio | Loom decode GB/s | read BW GB/s | % of BW |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model, engines in runs.items():
        loom = engines.get("loom", [])
        peer = engines.get("llama.cpp", [])
        lpp = max((r["pp"] for r in loom), default=0.0)
        ltg_rec = max(loom, key=lambda r: r["tg"], default=None)
        ltg = ltg_rec["tg"] if ltg_rec else 0.0
        ppp = max((r["pp"] for r in peer), default=0.0)
        ptg = max((r["tg"] for r in peer), default=0.0)
        gbs = bw = pct = "-"
        if ltg_rec and ltg_rec["mb"] and ltg_rec["bw"]:
            traffic = ltg * ltg_rec["mb"] / 1e3
            gbs, bw, pct = f"{traffic:.1f}", f"{ltg_rec['bw']:.1f}", f"{100 * traffic / ltg_rec['bw']:.0f}%"
        print(f"| {model} | {lpp:.1f} | {ppp:.1f} | {ratio(lpp, ppp)} | {ltg:.1f} | {ptg:.1f} "
              f"| {ratio(ltg, ptg)} | {gbs} | {bw} | {pct} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RECORDS")
    main(sys.argv[1])
