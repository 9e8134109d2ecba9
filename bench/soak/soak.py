#!/usr/bin/python3
"""Mixed load against one `loom serve` through its ZeroMQ endpoint, with the
server's RSS, kv_blocks_used, open fds and thread count sampled every 10 s.

    soak.py --endpoint ipc:///tmp/s.sock --pid PID --duration 3600 --out DIR

Load (one DEALER per worker thread, raw v1 frames so every terminal is
counted): streamed and non-streamed jobs, cancels mid-stream, clients that
vanish with a job in flight, prompts of 1..1500 tokens, priorities, short
deadlines. Writes DIR/soak.csv and DIR/soak.png; exits 1 when a check fails:
- RSS after the warm-up (first 5 minutes, or a quarter of a shorter run)
  grows by more than 5% over its value at the end of the warm-up;
- kv_blocks_used does not return to 0 once the load stops;
- a job lacks exactly one terminal message (`done` or `error`).
"""
import argparse
import csv
import itertools
import os
import random
import sys
import threading
import time

import msgpack
import zmq

SAMPLE_S = 10
VOCAB_LO, VOCAB_HI = 200, 40000  # ordinary tokens of SmolLM2's 49152 (no specials)


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


class Tally:
    """Terminal counts per job id, across all workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.terminals = {}  # id -> number of terminal messages seen
        self.kinds = {}      # outcome -> count
        self.accepted_vanished = 0

    def start(self, job_id):
        with self.lock:
            self.terminals[job_id] = 0

    def terminal(self, job_id, outcome):
        with self.lock:
            self.terminals[job_id] = self.terminals.get(job_id, 0) + 1
            self.kinds[outcome] = self.kinds.get(outcome, 0) + 1

    def forget(self, job_id):  # a vanished client's job: nobody can hear its terminal
        with self.lock:
            del self.terminals[job_id]
            self.accepted_vanished += 1

    def bad(self):
        with self.lock:
            return {k: v for k, v in self.terminals.items() if v != 1}

    def total(self):
        with self.lock:
            return len(self.terminals)


class Worker(threading.Thread):
    """One connection running one job at a time, chosen at random."""

    def __init__(self, ctx, endpoint, tally, stop, seed, max_tokens):
        super().__init__(daemon=True)
        self.ctx, self.endpoint, self.tally, self.stop = ctx, endpoint, tally, stop
        self.rng = random.Random(seed)
        self.max_tokens = max_tokens
        self.ids = itertools.count()
        self.prefix = f"w{seed}-"
        self.sock = self.connect()
        self.errors = []

    def connect(self):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        return s

    def prompt(self):
        # Log-uniform over 1..1500 tokens: many short prompts, some long ones.
        n = int(round(1500 ** self.rng.random()))
        return [self.rng.randrange(VOCAB_LO, VOCAB_HI) for _ in range(max(1, n))]

    def job(self, job_id, stream):
        msg = {"v": 1, "type": "generate", "id": job_id, "stream": stream, "input_ids": self.prompt(),
               "params": {"max_tokens": self.rng.randint(1, self.max_tokens),
                          "temperature": self.rng.choice([0.0, 0.7, 1.0]), "seed": self.rng.randrange(1 << 30),
                          "ignore_eos": self.rng.random() < 0.5}}
        if self.rng.random() < 0.3:
            msg["priority"] = self.rng.randint(-10, 10)
        if self.rng.random() < 0.15:
            msg["deadline_ms"] = self.rng.randint(20, 3000)
        return msg

    def run(self):
        try:
            while not self.stop.is_set():
                r = self.rng.random()
                if r < 0.08:
                    self.vanish()
                elif r < 0.55:
                    self.one(stream=True)
                elif r < 0.70:
                    self.one(stream=True, cancel_after=self.rng.randint(0, 8))
                elif r < 0.78:
                    self.one(stream=False, cancel_after=0)
                else:
                    self.one(stream=False)
        except Exception as e:  # a crash here is a soak failure, not silence
            self.errors.append(repr(e))

    def one(self, stream, cancel_after=None):
        """One job to its terminal; `cancel_after`: cancel after that many
        deltas (0: right after sending, crossing the job on its way in)."""
        job_id = self.prefix + str(next(self.ids))
        self.tally.start(job_id)
        self.sock.send(pack(self.job(job_id, stream)))
        if cancel_after == 0:
            time.sleep(self.rng.random() * 0.2)
            self.sock.send(pack({"v": 1, "type": "cancel", "id": job_id}))
        deltas, last_send = 0, time.monotonic()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if time.monotonic() - last_send > 2:
                self.sock.send(pack({"v": 1, "type": "health"}))  # keep-alive
                last_send = time.monotonic()
            if not self.sock.poll(500):
                continue
            m = msgpack.unpackb(self.sock.recv(), raw=False)
            mid = m.get("id")
            if m["type"] in ("done", "error") and mid is not None and mid != job_id:
                self.tally.terminal(mid, "late")  # a second terminal of an earlier job
                continue
            if mid != job_id:
                continue
            if m["type"] == "delta":
                deltas += 1
                if cancel_after and deltas == cancel_after:
                    self.sock.send(pack({"v": 1, "type": "cancel", "id": job_id}))
                    last_send = time.monotonic()
            elif m["type"] == "done":
                self.tally.terminal(job_id, "done:" + m.get("finish_reason", "?"))
                return
            elif m["type"] == "error":
                self.tally.terminal(job_id, "error:" + m.get("code", "?"))
                return
        self.errors.append(f"{job_id}: no terminal within 600 s")

    def vanish(self):
        """A client that sends a streamed job, reads a little and disappears."""
        s = self.connect()
        job_id = self.prefix + "gone" + str(next(self.ids))
        msg = self.job(job_id, True)
        msg["params"]["max_tokens"] = self.max_tokens
        s.send(pack(msg))
        if s.poll(self.rng.randint(0, 2000)):
            s.recv()
        s.close()
        self.tally.start(job_id)
        self.tally.forget(job_id)


def proc_sample(pid):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            status[k] = v.strip()
    return {"rss_kb": int(status["VmRSS"].split()[0]), "threads": int(status["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


class Stats:
    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.n = itertools.count()

    def get(self):
        req = f"soak-stats-{next(self.n)}"
        self.sock.send(pack({"v": 1, "type": "stats", "id": req}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.sock.poll(1000):
                m = msgpack.unpackb(self.sock.recv(), raw=False)
                if m.get("id") == req:
                    return m
        raise RuntimeError("stats: no answer within 30 s")


def plot(rows, path, warmup_s):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = [r["t_s"] / 60 for r in rows]
    fig, ax = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    for a, key, label in zip(ax, ("rss_kb", "kv_blocks_used", "fds", "threads"),
                             ("RSS (MiB)", "KV blocks used", "open fds", "threads")):
        ys = [r[key] / 1024 if key == "rss_kb" else r[key] for r in rows]
        a.plot(t, ys)
        a.set_ylabel(label)
        a.axvline(warmup_s / 60, color="grey", linestyle=":")
        a.grid(alpha=0.3)
    ax[-1].set_xlabel("minutes")
    ax[0].set_title("loom serve under mixed load (dotted: end of warm-up)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--duration", type=float, default=3600)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--idle-timeout", type=float, default=60, help="s allowed for blocks to return to 0")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    warmup_s = min(300.0, args.duration / 4)
    ctx = zmq.Context.instance()
    tally, stop = Tally(), threading.Event()
    workers = [Worker(ctx, args.endpoint, tally, stop, seed, args.max_tokens) for seed in range(args.workers)]
    stats = Stats(ctx, args.endpoint)
    rows, t0 = [], time.monotonic()

    def sample(phase):
        s = stats.get()
        row = {"t_s": round(time.monotonic() - t0, 1), "phase": phase, **proc_sample(args.pid),
               "kv_blocks_used": s["kv_blocks_used"], "jobs_in_flight": s["jobs_in_flight"],
               "jobs_finished": s["jobs_finished"], "clients": s["clients"]}
        rows.append(row)
        print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        return row

    for w in workers:
        w.start()
    sample("load")
    while time.monotonic() - t0 < args.duration:
        time.sleep(min(SAMPLE_S, max(0.0, args.duration - (time.monotonic() - t0))))
        sample("load")
    stop.set()
    for w in workers:
        w.join(timeout=660)
    # Idle: every job has ended (vanished clients' jobs after the keep-alive);
    # the blocks must all come back.
    idle_deadline = time.monotonic() + args.idle_timeout
    row = sample("idle")
    while (row["kv_blocks_used"] or row["jobs_in_flight"]) and time.monotonic() < idle_deadline:
        time.sleep(min(SAMPLE_S, max(0.5, idle_deadline - time.monotonic())))
        row = sample("idle")
    # Late duplicates would arrive by now: read what is left on each socket.
    for w in workers:
        while w.sock.poll(100):
            m = msgpack.unpackb(w.sock.recv(), raw=False)
            if m["type"] in ("done", "error") and m.get("id") is not None:
                tally.terminal(m["id"], "late")

    os.makedirs(args.out, exist_ok=True)
    csv_path, png_path = os.path.join(args.out, "soak.csv"), os.path.join(args.out, "soak.png")
    with open(csv_path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        wr.writeheader()
        wr.writerows(rows)
    plot(rows, png_path, warmup_s)

    failures = []
    load = [r for r in rows if r["phase"] == "load"]
    base = next((r for r in load if r["t_s"] >= warmup_s), None)
    if base is None:
        failures.append("no sample after the warm-up")
    else:
        peak = max(r["rss_kb"] for r in load if r["t_s"] >= warmup_s)
        growth = (peak - base["rss_kb"]) / base["rss_kb"]
        print(f"RSS at end of warm-up ({base['t_s']:.0f} s) {base['rss_kb'] / 1024:.1f} MiB, "
              f"peak after {peak / 1024:.1f} MiB: {growth * 100:+.2f}%")
        if growth > 0.05:
            failures.append(f"RSS grew {growth * 100:.1f}% after the warm-up (limit 5%)")
    if row["kv_blocks_used"] != 0 or row["jobs_in_flight"] != 0:
        failures.append(f"not idle {args.idle_timeout:.0f} s after the load stopped: "
                        f"kv_blocks_used={row['kv_blocks_used']} jobs_in_flight={row['jobs_in_flight']}")
    bad = tally.bad()
    if bad:
        failures.append(f"{len(bad)} jobs without exactly one terminal, e.g. {list(bad.items())[:5]}")
    for w in workers:
        failures += [f"worker {w.prefix}: {e}" for e in w.errors]
    print(f"jobs observed: {tally.total()} (+{tally.accepted_vanished} from vanished clients); outcomes: "
          + ", ".join(f"{k}={v}" for k, v in sorted(tally.kinds.items())))
    print(f"wrote {csv_path} and {png_path}")
    for f in failures:
        print("FAIL:", f)
    print("soak: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
