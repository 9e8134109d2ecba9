#!/usr/bin/env python3
"""What vLLM's Python frontend costs on top of Loom: the same load through
`vllm serve` (Loom underneath, --vllm-engine) and through Loom's own ZeroMQ
door on the same engine, in the same run. Loom's own door is the ceiling.

Run by `LOOM_VLLM_BENCH=1 scripts/test_vllm.sh` (vLLM venv python); prints a
Markdown table: TTFT p50, ITL p50 and generated tok/s at 1 and 16 streams.
"""
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from loom_client import LoomClient  # noqa: E402
from openai import OpenAI  # noqa: E402

URL, MODEL, ENDPOINT = os.environ["LOOM_VLLM_URL"], os.environ["LOOM_VLLM_MODEL"], os.environ["LOOM_ENDPOINT"]
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
TOKENS = 64


def via_vllm(stamps):
    client = OpenAI(base_url=URL + "/v1", api_key="none", max_retries=0, timeout=600)
    start = time.perf_counter()
    for chunk in client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=TOKENS, temperature=0,
                                           stream=True, extra_body={"ignore_eos": True}):
        if chunk.choices and chunk.choices[0].text:
            stamps.append(time.perf_counter() - start)


def via_loom(stamps):
    with LoomClient(ENDPOINT, timeout=600) as c:
        start = time.perf_counter()
        for ev in c.generate(prompt=PROMPT, max_tokens=TOKENS, temperature=0, ignore_eos=True):
            if ev["type"] == "delta" and ev.get("text"):
                stamps.append(time.perf_counter() - start)


def run(fn, streams):
    per = [[] for _ in range(streams)]
    threads = [threading.Thread(target=fn, args=(per[i],)) for i in range(streams)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = statistics.median(s[0] for s in per) * 1e3
    itl = statistics.median(b - a for s in per for a, b in zip(s, s[1:])) * 1e3
    return ttft, itl, streams * TOKENS / wall


def main():
    via_loom([]), via_vllm([])  # warm both paths
    print(f"{TOKENS} tokens per request, greedy, ignore_eos; medians over the requests")
    print("| door | streams | TTFT p50 ms | ITL p50 ms | tok/s |")
    print("| --- | --- | --- | --- | --- |")
    for streams in (1, 16):
        for name, fn in (("Loom ZeroMQ door (ceiling)", via_loom), ("vllm serve -> Loom", via_vllm)):
            ttft, itl, tps = run(fn, streams)
            print(f"| {name} | {streams} | {ttft:.1f} | {itl:.2f} | {tps:.0f} |")


if __name__ == "__main__":
    main()
