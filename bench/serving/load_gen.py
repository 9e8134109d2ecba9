#!/usr/bin/python3
"""Load generator for a Loom backend, speaking the v1 ZeroMQ job protocol
(adapters/zmq/PROTOCOL.md) on one multiplexed DEALER socket, or, with
--http URL, OpenAI's HTTP API (http_runner.py: Loom's HTTP door, llama-server).

Workloads (README.md has the definitions):
  open loop    --rates 1,2,inf      Poisson arrivals at each rate (inf: all at t=0)
  closed loop  --concurrency C      C requests in flight, a new one as each ends
  prefix test  --prefix-test K      K cache misses and K hits of a shared system
                                    prompt, one at a time (TTFT miss vs hit)

Prompts are random token ids (`input_ids`), outputs are forced to their
sampled length with `ignore_eos`. Prints a markdown table, writes raw
per-request numbers (JSON + CSV) and, for several rates, a PNG plot.

    /usr/bin/python3 bench/serving/load_gen.py --endpoint ipc:///tmp/s.sock \
        --rates 0.5,1,2 --num-requests 40 --out /tmp/run.json --plot /tmp/run.png
"""
import argparse
import collections
import math
import sys
import time

import msgpack
import numpy as np
import zmq

import report

PROTOCOL_VERSION = 1
TOKEN_LO, TOKEN_HI = 1000, 48000  # random ids from here: no special or byte tokens
KEEPALIVE_S = 2.0
STATS_EVERY_S = 0.5


class Request:
    """One job: what is sent and, once run, what was measured (perf_counter seconds)."""

    def __init__(self, idx, arrival, prompt_ids, output_len, kind="mix"):
        self.idx, self.arrival, self.kind = idx, arrival, kind
        self.prompt_ids, self.output_len = prompt_ids, output_len
        self.t_send = self.t_first = self.t_last = self.t_done = None
        self.n_tokens = 0
        self.usage, self.timing = {}, {}
        self.finish_reason = self.error = None


# ---------------------------------------------------------------- workloads
def long_tail(rng, n, median, sigma, lo, hi):
    """Log-normal lengths (median `median`, log-sd `sigma`) clipped to [lo, hi]."""
    return np.clip(np.round(rng.lognormal(math.log(median), sigma, n)), lo, hi).astype(int)


def random_tokens(rng, n):
    return rng.integers(TOKEN_LO, TOKEN_HI, n).tolist()


def mix_workload(args, rate, rng, system):
    """args.num_requests long-tail requests with Poisson arrivals at `rate`/s."""
    n = args.num_requests
    if args.fixed_prompt_len:
        prompts = np.full(n, args.fixed_prompt_len)
    else:
        prompts = long_tail(rng, n, args.prompt_median, args.prompt_sigma, args.prompt_min, args.prompt_max)
    if args.fixed_output_len:
        outputs = np.full(n, args.fixed_output_len)
    else:
        outputs = long_tail(rng, n, args.output_median, args.output_sigma, args.output_min, args.output_max)
    gaps = np.zeros(n) if math.isinf(rate) else rng.exponential(1.0 / rate, n)
    arrivals = np.cumsum(gaps) - gaps[0]  # the first request at t=0
    return [Request(i, float(arrivals[i]), system + random_tokens(rng, int(prompts[i])), int(outputs[i]))
            for i in range(n)]


def prefix_workload(args, rng, system):
    """One warm-up hit (fills the cache), then alternating misses and hits.

    A miss carries a fresh random prefix of the same length as the shared
    system prompt; both carry a random 32-token user suffix."""
    reqs = [Request(0, 0.0, system + random_tokens(rng, 32), 4, kind="warmup")]
    for k in range(args.prefix_test):
        miss = random_tokens(rng, len(system)) + random_tokens(rng, 32)
        reqs.append(Request(len(reqs), 0.0, miss, 4, kind="miss"))
        reqs.append(Request(len(reqs), 0.0, system + random_tokens(rng, 32), 4, kind="hit"))
    return reqs


# ---------------------------------------------------------------- the runner
class Runner:
    """Sends requests at their arrival times (or keeps `concurrency` in flight)
    and timestamps every reply as it arrives."""

    def __init__(self, endpoint, timeout_s):
        self.endpoint, self.timeout_s = endpoint, timeout_s
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.prefix = f"lg{time.monotonic_ns() & 0xffffff:x}-"
        self.last_send = 0.0
        self.stats_seq = 0

    def send(self, msg):
        self.sock.send(msgpack.packb(msg, use_bin_type=True))
        self.last_send = time.perf_counter()

    def ask_stats(self, wait_s=10.0):
        """A blocking `stats` request (used before and after a run only)."""
        self.stats_seq += 1
        sid = f"{self.prefix}s{self.stats_seq}"
        self.send({"v": PROTOCOL_VERSION, "type": "stats", "id": sid})
        end = time.perf_counter() + wait_s
        while time.perf_counter() < end:
            if self.sock.poll(100, zmq.POLLIN):
                m = msgpack.unpackb(self.sock.recv(), raw=False)
                if m.get("type") == "stats" and m.get("id") == sid:
                    return m
        raise TimeoutError(f"no stats reply from {self.endpoint} within {wait_s} s")

    def run(self, reqs, concurrency=None):
        """Runs `reqs`; returns (requests, stats samples taken during the run)."""
        pending = collections.deque(sorted(reqs, key=lambda r: r.arrival))
        inflight, samples = {}, []
        t0 = time.perf_counter()
        next_stats = t0
        while pending or inflight:
            now = time.perf_counter()
            if now - t0 > self.timeout_s:
                self._abandon(inflight, f"no answer within the run's {self.timeout_s} s limit")
                break
            while pending and self._due(pending[0], inflight, concurrency, now - t0):
                self._send_job(pending.popleft(), inflight)
            if now >= next_stats:
                self.stats_seq += 1
                self.send({"v": PROTOCOL_VERSION, "type": "stats", "id": f"{self.prefix}p{self.stats_seq}"})
                next_stats = now + STATS_EVERY_S
            elif inflight and now - self.last_send > KEEPALIVE_S:
                self.send({"v": PROTOCOL_VERSION, "type": "health"})
            wait = STATS_EVERY_S if not pending or concurrency else pending[0].arrival - (now - t0)
            if self.sock.poll(max(1, min(50, int(wait * 1000))), zmq.POLLIN):
                self._drain(inflight, samples, t0)
        return reqs, samples

    @staticmethod
    def _due(req, inflight, concurrency, elapsed):
        return len(inflight) < concurrency if concurrency else req.arrival <= elapsed

    def _send_job(self, req, inflight):
        job_id = f"{self.prefix}{req.idx}"
        self.send({"v": PROTOCOL_VERSION, "type": "generate", "id": job_id, "input_ids": req.prompt_ids,
                   "stream": True,
                   "params": {"max_tokens": req.output_len, "ignore_eos": True, "temperature": 0.0}})
        req.t_send = self.last_send
        inflight[job_id] = req

    def _drain(self, inflight, samples, t0):
        while True:
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            now = time.perf_counter()
            m = msgpack.unpackb(frame, raw=False)
            kind, req = m.get("type"), inflight.get(m.get("id"))
            if kind == "stats":
                samples.append(dict(m, t=now - t0))
            elif req is None:
                continue  # health replies, stats from before the run
            elif kind == "delta":
                n = len(m.get("token_ids", []))
                if n and req.t_first is None:
                    req.t_first = now
                if n:
                    req.t_last, req.n_tokens = now, req.n_tokens + n
            else:  # done or error: terminal
                req.t_done = now
                if kind == "done":
                    req.finish_reason, req.usage, req.timing = m["finish_reason"], m["usage"], m["timing"]
                else:
                    req.error = f"{m.get('code')}: {m.get('message')}"
                del inflight[m["id"]]

    def _abandon(self, inflight, why):
        for job_id, req in inflight.items():
            self.send({"v": PROTOCOL_VERSION, "type": "cancel", "id": job_id})
            req.error = why
        inflight.clear()


# ---------------------------------------------------------------- CLI
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", help="ipc:///path or tcp://host:port")
    ap.add_argument("--http", help="instead of --endpoint: an OpenAI-compatible server, http://host:port")
    ap.add_argument("--model", help="with --http: the request's `model` field")
    ap.add_argument("--label", default="run", help="name of this series (e.g. the policy)")
    ap.add_argument("--rates", default="1", help="comma-separated Poisson rates, req/s ('inf': all at once)")
    ap.add_argument("--num-requests", type=int, default=40, help="requests per rate")
    ap.add_argument("--concurrency", type=int, default=0, help="closed loop: requests in flight (0: open loop)")
    ap.add_argument("--prompt-median", type=float, default=96)
    ap.add_argument("--prompt-sigma", type=float, default=0.9)
    ap.add_argument("--prompt-min", type=int, default=16)
    ap.add_argument("--prompt-max", type=int, default=1024)
    ap.add_argument("--output-median", type=float, default=48)
    ap.add_argument("--output-sigma", type=float, default=0.9)
    ap.add_argument("--output-min", type=int, default=8)
    ap.add_argument("--output-max", type=int, default=256)
    ap.add_argument("--fixed-prompt-len", type=int, default=0, help="every prompt this long (no distribution)")
    ap.add_argument("--fixed-output-len", type=int, default=0, help="every output this long (no distribution)")
    ap.add_argument("--system-prompt-tokens", type=int, default=0, help="shared prefix prepended to every prompt")
    ap.add_argument("--prefix-test", type=int, default=0, help="K misses + K hits of the system prompt, serially")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per rate before giving up")
    ap.add_argument("--out", help="raw results: JSON here, per-request CSV beside it")
    ap.add_argument("--plot", help="PNG: throughput and p99 TPOT vs rate (needs several rates)")
    args = ap.parse_args(argv)
    if bool(args.endpoint) == bool(args.http):
        ap.error("give exactly one of --endpoint or --http")
    if args.prefix_test and args.system_prompt_tokens <= 0:
        ap.error("--prefix-test needs --system-prompt-tokens > 0")
    if args.num_requests < 1 or args.concurrency < 0:
        ap.error("--num-requests must be >= 1 and --concurrency >= 0")
    try:
        args.rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        ap.error(f"--rates must be comma-separated numbers or 'inf', got {args.rates!r}")
    if any(not r > 0 for r in args.rates):
        ap.error("--rates must be > 0")
    return args


def run_point(args, runner, rate, seed):
    rng = np.random.default_rng(seed)
    system = random_tokens(np.random.default_rng(seed + 7919), args.system_prompt_tokens)
    if args.prefix_test:
        reqs, concurrency = prefix_workload(args, rng, system), 1
    else:
        reqs, concurrency = mix_workload(args, rate, rng, system), args.concurrency or None
    before = runner.ask_stats()
    reqs, samples = runner.run(reqs, concurrency)
    after = runner.ask_stats()
    return report.summarize(args.label, rate, concurrency, reqs, samples, before, after)


def main(argv=None):
    args = parse_args(argv)
    if args.http:
        from http_runner import HttpRunner
        runner = HttpRunner(args.http, args.timeout, args.model)
    else:
        runner = Runner(args.endpoint, args.timeout)
    points = []
    for i, rate in enumerate([math.inf] if args.prefix_test or args.concurrency else args.rates):
        points.append(run_point(args, runner, rate, args.seed + i))
        print(report.markdown_table(points[-1:], header=(i == 0)), flush=True)
    if args.out:
        report.write_raw(args.out, vars(args), points)
    if args.plot and len(points) > 1:
        report.plot_sweep({args.label: points}, args.plot)
    failed = sum(p["summary"]["errors"] for p in points)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
