#!/usr/bin/env python3
"""End to end: an unmodified `vllm serve` (0.33.0) frontend with Loom as its engine.

Run by scripts/test_vllm.sh with the vLLM venv's python, once `loom serve
--vllm-engine` and `vllm serve` are up. Environment: LOOM_VLLM_URL (the
frontend, http://127.0.0.1:PORT), LOOM_VLLM_MODEL (the served model name),
LOOM_ENDPOINT (Loom's own ZeroMQ door on the same engine, the reference).
"""
import json
import os
import socket
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters", "python"))
from loom_client import LoomClient  # noqa: E402
from openai import OpenAI  # noqa: E402

URL = os.environ["LOOM_VLLM_URL"]
MODEL = os.environ["LOOM_VLLM_MODEL"]
ENDPOINT = os.environ["LOOM_ENDPOINT"]
PROMPT = "The three primary colors are"
CHAT = [{"role": "user", "content": "Name a fruit that is yellow."}]


def loom_text(**kwargs):
    with LoomClient(ENDPOINT, timeout=120) as c:
        return c.generate_text(**kwargs)


def loom_stats():
    with LoomClient(ENDPOINT, timeout=30) as c:
        return c.stats()


def metric(name):
    """The value of a gauge in the frontend's /metrics (first sample)."""
    with urllib.request.urlopen(URL + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def wait_for(cond, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class VllmFrontendOverLoom(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.client = OpenAI(base_url=URL + "/v1", api_key="none", max_retries=0, timeout=120)

    def test_completion_greedy_equals_looms_own_door(self):
        r = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0)
        ref = loom_text(prompt=PROMPT, max_tokens=24, temperature=0)
        self.assertTrue(r.choices[0].text)
        self.assertEqual(r.choices[0].text, ref)
        self.assertEqual(r.usage.completion_tokens, 24)
        self.assertEqual(r.choices[0].finish_reason, "length")

    def test_completion_stream_equals_non_stream(self):
        whole = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0)
        parts = [c.choices[0].text for c in self.client.completions.create(
            model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0, stream=True) if c.choices]
        self.assertGreater(len(parts), 1)
        self.assertEqual("".join(parts), whole.choices[0].text)

    def test_chat_greedy_equals_looms_own_door(self):
        r = self.client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=32, temperature=0)
        ref = loom_text(messages=CHAT, max_tokens=32, temperature=0)
        self.assertTrue(r.choices[0].message.content)
        self.assertEqual(r.choices[0].message.content, ref)

    def test_chat_stream_equals_non_stream_and_ends_on_eos(self):
        whole = self.client.chat.completions.create(model=MODEL, messages=CHAT, max_tokens=200, temperature=0)
        self.assertEqual(whole.choices[0].finish_reason, "stop", "SmolLM2 answers briefly and ends with <|im_end|>")
        parts = [c.choices[0].delta.content or "" for c in self.client.chat.completions.create(
            model=MODEL, messages=CHAT, max_tokens=200, temperature=0, stream=True) if c.choices]
        self.assertEqual("".join(parts), whole.choices[0].message.content)
        self.assertNotIn("<|im_end|>", whole.choices[0].message.content)

    def test_stop_string_ends_the_text_before_it(self):
        full = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0).choices[0].text
        words = full.split()
        self.assertGreater(len(words), 3)
        stop = " " + words[2]
        r = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0, stop=[stop])
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertEqual(r.choices[0].text, full[:full.index(stop)])

    def test_n2_returns_two_seeded_samples(self):
        r = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=12, temperature=1.0, n=2, seed=5)
        self.assertEqual(len(r.choices), 2)
        self.assertTrue(all(c.text for c in r.choices))
        again = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=12, temperature=1.0, n=2, seed=5)
        self.assertEqual([c.text for c in r.choices], [c.text for c in again.choices], "seeded: reproducible")

    def test_logprobs_are_returned(self):
        r = self.client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=4, temperature=0, logprobs=2)
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.token_logprobs), 4)
        self.assertTrue(all(x <= 0 for x in lp.token_logprobs))
        self.assertTrue(all(len(t) >= 1 for t in lp.top_logprobs))

    def test_unsupported_feature_is_a_clear_400(self):
        body = json.dumps({"model": MODEL, "prompt": PROMPT, "max_tokens": 4, "min_tokens": 2}).encode()
        req = urllib.request.Request(URL + "/v1/completions", body, {"Content-Type": "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(req, timeout=60)
        self.assertEqual(ctx.exception.code, 400)
        self.assertIn("min_tokens", ctx.exception.read().decode())

    def test_disconnect_aborts_the_job_in_loom_and_metrics_show_it_running(self):
        base = loom_stats()
        host, port = urllib.parse.urlsplit(URL).netloc.split(":")
        body = json.dumps({"model": MODEL, "prompt": PROMPT, "max_tokens": 1500, "temperature": 0,
                           "ignore_eos": True, "stream": True}).encode()
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        got = b""
        while got.count(b"data:") < 3:
            got += s.recv(4096)
        self.assertEqual(loom_stats()["running"], 1)
        self.assertTrue(wait_for(lambda: metric("vllm:num_requests_running") == 1.0),
                        "the frontend's gauge shows Loom's running count")
        s.close()
        self.assertTrue(wait_for(lambda: loom_stats()["running"] == 0, timeout=10), "the disconnect reached Loom")
        after = loom_stats()
        self.assertEqual(after["jobs_finished"], base["jobs_finished"] + 1)
        self.assertEqual(after["kv_blocks_used"], base["kv_blocks_used"], "KV blocks back")
        self.assertTrue(wait_for(lambda: metric("vllm:num_requests_running") == 0.0))
        self.assertEqual(metric("vllm:num_requests_waiting"), 0.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
