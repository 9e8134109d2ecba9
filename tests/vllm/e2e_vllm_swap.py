#!/usr/bin/env python3
"""The backend swap behind a live vLLM frontend.

One `vllm serve` (0.33.0) frontend, one `loom serve --vllm-engine ...
--backend libloom_cpu.so --backend-next libloom_cuda_emu.so`. The same short
greedy completion before the swap (CPU), from a request sent while the swap
runs (it waits), and after it (the CUDA backend on the SIMT emulator) must be
the same text, and the frontend process must be the one that started.
Environment (set by scripts/test_vllm.sh): LOOM_VLLM_URL, LOOM_VLLM_MODEL,
LOOM_PID, LOOM_LOG, VLLM_PID.
"""
import os
import signal
import threading
import time
import unittest

from openai import OpenAI

URL = os.environ["LOOM_VLLM_URL"]
MODEL = os.environ["LOOM_VLLM_MODEL"]
PROMPT = "The capital of France is"


def log_has(text):
    with open(os.environ["LOOM_LOG"]) as f:
        return text in f.read()


class SwapBehindALiveFrontend(unittest.TestCase):
    def complete(self):
        client = OpenAI(base_url=URL + "/v1", api_key="none", max_retries=0, timeout=600)
        r = client.completions.create(model=MODEL, prompt=PROMPT, max_tokens=5, temperature=0,
                                      extra_body={"ignore_eos": True})
        self.assertEqual(r.usage.completion_tokens, 5)
        return r.choices[0].text

    def test_cpu_then_cuda_emu_same_greedy_text_same_frontend(self):
        vllm_pid = int(os.environ["VLLM_PID"])
        before = self.complete()
        self.assertTrue(before)
        self.assertIn("loom serve: cpu backend", open(os.environ["LOOM_LOG"]).read())
        os.kill(int(os.environ["LOOM_PID"]), signal.SIGHUP)
        end = time.time() + 30
        while time.time() < end and not log_has("SIGHUP: swapping"):
            time.sleep(0.05)
        during = {}
        t = threading.Thread(target=lambda: during.setdefault("text", self.complete()))
        t.start()  # sent while the backend drains, unloads and loads: it waits, it is not lost
        end = time.time() + 300
        while time.time() < end and not log_has("swapped to"):
            time.sleep(0.2)
        self.assertTrue(log_has("swapped to"), "the swap did not finish")
        t.join(timeout=600)
        self.assertEqual(during.get("text"), before)
        self.assertTrue(log_has("(1 jobs waited)"), "the request sent during the swap waited for it")
        after = self.complete()
        self.assertIn("SIMT emulation on the CPU", open(os.environ["LOOM_LOG"]).read())
        self.assertEqual(after, before, "greedy text differs between the cpu and cuda-emu backends")
        os.kill(vllm_pid, 0)  # the frontend that started is still the one serving


if __name__ == "__main__":
    unittest.main(verbosity=2)
