"""Numbers from one load_gen run: per-point summaries, the markdown table,
the raw JSON/CSV files and the sweep plot. Times in milliseconds unless
named otherwise; definitions in README.md."""
import csv
import json
import math

import numpy as np


def stat3(values):
    """mean, p50, p99 of `values` (NaN when empty)."""
    if not values:
        return {"mean": math.nan, "p50": math.nan, "p99": math.nan}
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99))}


def request_row(r):
    """The raw per-request record (client-side times relative to its send)."""
    ms = lambda t: None if t is None or r.t_send is None else (t - r.t_send) * 1000.0
    tpot = None
    if r.n_tokens > 1 and r.t_first is not None:
        tpot = (r.t_last - r.t_first) * 1000.0 / (r.n_tokens - 1)
    return {"idx": r.idx, "kind": r.kind, "arrival_s": r.arrival, "prompt_tokens": len(r.prompt_ids),
            "output_requested": r.output_len, "output_tokens": r.n_tokens,
            "cached_tokens": r.usage.get("cached_tokens"), "finish_reason": r.finish_reason,
            "error": r.error, "ttft_ms": ms(r.t_first), "tpot_ms": tpot, "e2e_ms": ms(r.t_done),
            "server_queue_ms": r.timing.get("queue_ms"), "server_ttft_ms": r.timing.get("ttft_ms"),
            "server_total_ms": r.timing.get("total_ms")}


def decode_tps(ok):
    """Aggregate decode tokens/s: tokens after each request's first, over the
    window from the earliest first token to the latest last token."""
    timed = [r for r in ok if r.t_first is not None and r.n_tokens > 1]
    if not timed:
        return math.nan
    span = max(r.t_last for r in timed) - min(r.t_first for r in timed)
    return sum(r.n_tokens - 1 for r in timed) / span if span > 0 else math.nan


def server_counters(samples, before, after):
    """Preemptions and prefix-hit rate as the backend reports them."""
    peak = max([s.get("preempted", 0) for s in samples] + [0])
    out = {"preempted_peak": peak, "server_prefix_hit_rate": after.get("prefix_hit_rate"),
           "peak_running": max([s.get("running", 0) for s in samples] + [0])}
    if "preemptions" in after:  # a cumulative counter, when the backend has one
        out["preemptions"] = after["preemptions"] - before.get("preemptions", 0)
    return out


def summarize(label, rate, concurrency, reqs, samples, before, after):
    ok = [r for r in reqs if r.error is None and r.t_done is not None and r.kind != "warmup"]
    rows = [request_row(r) for r in reqs]
    measured = [row for row in rows if row["kind"] != "warmup"]
    duration = (max(r.t_done for r in ok) - min(r.t_send for r in ok)) if ok else math.nan
    prompt = sum(len(r.prompt_ids) for r in ok)
    s = {"requests": len(ok), "errors": sum(1 for r in reqs if r.error is not None), "duration_s": duration,
         "req_per_s": len(ok) / duration if duration > 0 else math.nan,
         "output_tok_per_s": sum(r.n_tokens for r in ok) / duration if duration > 0 else math.nan,
         "decode_tok_per_s": decode_tps(ok),
         "ttft_ms": stat3([x["ttft_ms"] for x in measured if x["ttft_ms"] is not None and not x["error"]]),
         "tpot_ms": stat3([x["tpot_ms"] for x in measured if x["tpot_ms"] is not None and not x["error"]]),
         "e2e_ms": stat3([x["e2e_ms"] for x in measured if x["e2e_ms"] is not None and not x["error"]]),
         "prefix_hit_rate": sum(r.usage.get("cached_tokens", 0) for r in ok) / prompt if prompt else math.nan}
    s.update(server_counters(samples, before, after))
    kinds = sorted({x["kind"] for x in measured})
    if len(kinds) > 1 or kinds != ["mix"]:
        s["ttft_ms_by_kind"] = {k: stat3([x["ttft_ms"] for x in measured if x["kind"] == k and x["ttft_ms"]])
                                for k in kinds}
    return {"label": label, "rate": rate, "concurrency": concurrency, "summary": s, "requests": rows}


def fmt(x, digits=1):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown_table(points, header=True):
    lines = []
    if header:
        lines += ["| series | rate (req/s) | conc | ok/err | req/s | out tok/s | decode tok/s | "
                  "TTFT mean/p50/p99 ms | TPOT mean/p50/p99 ms | E2E mean/p50/p99 ms | "
                  "preempted (peak) | prefix hit |",
                  "|" + "---|" * 12]
    for p in points:
        s = p["summary"]
        tri = lambda d: "/".join(fmt(d[k], 0) for k in ("mean", "p50", "p99"))
        pre = str(s.get("preemptions", s["preempted_peak"]))
        lines.append(f"| {p['label']} | {fmt(p['rate'], 2)} | {p['concurrency'] or '-'} | "
                     f"{s['requests']}/{s['errors']} | {fmt(s['req_per_s'], 3)} | {fmt(s['output_tok_per_s'])} | "
                     f"{fmt(s['decode_tok_per_s'])} | {tri(s['ttft_ms'])} | {tri(s['tpot_ms'])} | "
                     f"{tri(s['e2e_ms'])} | {pre} | {fmt(100 * s['prefix_hit_rate'])}% |")
        for kind, st in s.get("ttft_ms_by_kind", {}).items():
            lines.append(f"|  TTFT[{kind}] |||||||| {tri(st)} |||||")
    return "\n".join(lines)


def _clean(x):
    """JSON without NaN/inf (strict parsers reject them)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else "inf"
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def write_raw(path, config, points):
    with open(path, "w") as f:
        json.dump(_clean({"config": config, "points": points}), f, indent=1)
    csv_path = path[:-5] + ".csv" if path.endswith(".json") else path + ".csv"
    with open(csv_path, "w", newline="") as f:
        fields = ["label", "rate"] + list(points[0]["requests"][0].keys())
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for p in points:
            for row in p["requests"]:
                w.writerow(dict(row, label=p["label"], rate=p["rate"]))


def plot_sweep(series, path):
    """series: {label: [points]}; request throughput and p99 TPOT vs offered rate."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for label, points in series.items():
        pts = sorted((p for p in points if math.isfinite(p["rate"])), key=lambda p: p["rate"])
        rates = [p["rate"] for p in pts]
        ax1.plot(rates, [p["summary"]["req_per_s"] for p in pts], "o-", label=label)
        ax2.plot(rates, [p["summary"]["tpot_ms"]["p99"] for p in pts], "o-", label=label)
    ax1.set(xlabel="offered load (req/s, Poisson)", ylabel="completed req/s", title="request throughput")
    ax2.set(xlabel="offered load (req/s, Poisson)", ylabel="ms", title="p99 time per output token")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_concurrency(paths, path):
    """Closed-loop points (load_gen.py --out JSON files): output tok/s and
    p99 TTFT against concurrent streams, one line per label."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = {}
    for p in paths:
        with open(p) as f:
            for point in json.load(f)["points"]:
                series.setdefault(point["label"], []).append(point)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for label, points in sorted(series.items()):
        pts = sorted(points, key=lambda p: p["concurrency"])
        streams = [p["concurrency"] for p in pts]
        ax1.plot(streams, [p["summary"]["output_tok_per_s"] for p in pts], "o-", label=label)
        ax2.plot(streams, [p["summary"]["ttft_ms"]["p99"] for p in pts], "o-", label=label)
    ax1.set(xlabel="concurrent streams", ylabel="output tok/s", title="throughput", xscale="log")
    ax2.set(xlabel="concurrent streams", ylabel="ms", title="p99 time to first token", xscale="log", yscale="log")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
