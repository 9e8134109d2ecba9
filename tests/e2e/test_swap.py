"""Backend swap: a long-lived client keeps working while the host behind its
endpoint is replaced by a genuinely different build (the scalar-kernel
libloom_cpu_ref.so), with no reconnect code of its own."""
import unittest

import harness
from loom_client import LoomClient


class SwapTest(unittest.TestCase):
    def test_same_client_across_a_backend_swap(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        endpoint = f"ipc://{tmp}/loom.sock"
        client = LoomClient(endpoint, timeout=180)
        first = harness.serve(tmp, "simd", backend=harness.CPU_SO, endpoint=endpoint)
        try:
            harness.wait_ready(endpoint, first)
            before = client.generate_text(prompt="The capital of France is", max_tokens=8, temperature=0)
            self.assertTrue(before)
        finally:
            first.close()
        self.assertNotIn("scalar-reference build", first.output())
        second = harness.serve(tmp, "scalar", backend=harness.CPU_REF_SO, endpoint=endpoint)
        try:
            # The same client object, no reconnect: ZeroMQ re-establishes the pipe.
            after = client.generate_text(prompt="The capital of France is", max_tokens=8, temperature=0)
            self.assertTrue(after)
            self.assertIn("scalar-reference build", second.output())
            self.assertTrue(client.health()["ok"])
        finally:
            second.close()
            client.close()


if __name__ == "__main__":
    unittest.main()
