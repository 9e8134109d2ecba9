"""Backend swap across backends: a long-lived client asks `loom serve
--backend libloom_cpu.so`, the server is replaced on the same endpoint by
`loom serve --backend libloom_cuda_emu.so` (the CUDA backend, its kernels run
by the SIMT emulator), and the same client, with no reconnect of its own, gets
the same greedy text, non-streamed and streamed. The emulator runs a few
seconds per token, so the answers are short."""
import unittest

import harness
from loom_client import LoomClient

PROMPT = "The capital of France is"
TOKENS = 5


class CudaSwapTest(unittest.TestCase):
    def test_same_client_same_text_after_swapping_cpu_for_cuda_emu(self):
        harness.require_cuda_emu(self)
        harness.require_model(self)
        tmp = harness.temp_dir()
        endpoint = f"ipc://{tmp}/loom.sock"
        client = LoomClient(endpoint, timeout=240)
        first = harness.serve(tmp, "cpu", backend=harness.CPU_SO, endpoint=endpoint,
                              config='{"max_context": 256, "threads": 2}')
        try:
            harness.wait_ready(endpoint, first)
            before = self.whole_text(client)
            self.assertTrue(before)
        finally:
            first.close()
        self.assertIn("loom cpu:", first.output())
        second = harness.serve(tmp, "cuda-emu", backend=harness.CUDA_EMU_SO, endpoint=endpoint,
                               config=harness.CUDA_EMU_CONFIG)
        try:
            # The same client object: ZeroMQ re-establishes the pipe to the new process.
            after = self.whole_text(client)
            self.assertIn("SIMT emulation on the CPU", second.output())
            self.assertEqual(after, before, "greedy text differs between the cpu and cuda-emu backends")
            events = list(client.generate(prompt=PROMPT, max_tokens=TOKENS, temperature=0, ignore_eos=True))
            deltas = [e for e in events if e["type"] == "delta"]
            self.assertGreater(len(deltas), 0)
            self.assertEqual(events[-1]["type"], "done")
            self.assertEqual(events[-1]["usage"]["completion_tokens"], TOKENS)
            self.assertEqual("".join(d["text"] for d in deltas), before)
            health = client.health()
            self.assertTrue(health["ok"], health)
        finally:
            second.close()
            client.close()

    @staticmethod
    def whole_text(client):
        events = list(client.generate(prompt=PROMPT, max_tokens=TOKENS, temperature=0, ignore_eos=True,
                                      stream=False))
        assert [e["type"] for e in events] == ["done"], events
        return events[0]["text"]


if __name__ == "__main__":
    unittest.main()
