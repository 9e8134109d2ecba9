"""A fatal backend failure seen from outside (the test hook debug_fail_step
makes engine step N throw as a lost device would): `loom serve` ends every
accepted job with one `internal` error, reports health not ok, and exits
non-zero; behind a proxy, later jobs are served by the surviving worker."""
import time
import unittest

import harness
from loom_client import LoomClient, LoomError

FAILING = '{"max_context": 1024, "threads": 2, "debug_fail_step": 3}'


def outcome(stream):
    """('done', finish_reason) or ('error', code) of one job's stream."""
    try:
        last = list(stream)[-1]
        return "done", last.get("finish_reason")
    except LoomError as e:
        return "error", e.code


class FatalTest(unittest.TestCase):
    def setUp(self):
        harness.require_model(self)
        self.tmp = harness.temp_dir()

    def test_serve_fails_every_job_and_exits_nonzero(self):
        endpoint = f"ipc://{self.tmp}/fatal.sock"
        server = harness.serve(self.tmp, "fatal", endpoint=endpoint, config=FAILING)
        try:
            harness.wait_ready(endpoint, server)
            with LoomClient(endpoint, timeout=60) as c:
                streams = [c.generate(prompt=f"Story {i}:", max_tokens=64, ignore_eos=True) for i in range(3)]
                self.assertEqual([outcome(s) for s in streams], [("error", "internal")] * 3, server.output())
            rc = server.wait(timeout=30)
            self.assertNotEqual(rc, 0, server.output())
            self.assertIn("debug_fail_step 3", server.output())
        finally:
            server.close()

    def test_proxy_routes_around_the_failed_worker(self):
        front, back = f"ipc://{self.tmp}/front.sock", f"ipc://{self.tmp}/back.sock"
        proxy = harness.Process([harness.LOOM, "proxy", "--frontend", front, "--backend", back,
                                 "--heartbeat-ms", "500", "--heartbeat-timeout-ms", "6000"], self.tmp, "proxy")
        good = harness.serve(self.tmp, "good", proxy=back)
        bad = harness.serve(self.tmp, "bad", proxy=back, config=FAILING)
        try:
            with LoomClient(front, timeout=120) as c:
                deadline = time.monotonic() + 120
                while c.stats().get("workers_accepting", 0) < 2:
                    self.assertLess(time.monotonic(), deadline, proxy.output())
                    time.sleep(0.2)
                # Two long jobs at once: least-loaded routing gives one to each worker.
                first = [c.generate(prompt=f"Story {i}:", max_tokens=32, ignore_eos=True) for i in range(2)]
                results = sorted(outcome(s) for s in first)
                self.assertIn(("error", "internal"), results, bad.output())
                self.assertEqual(bad.wait(timeout=30) != 0, True, bad.output())
                # The failed worker is gone: every later job is the survivor's.
                for i in range(4):
                    self.assertEqual(outcome(c.generate(prompt=f"Again {i}", max_tokens=4, ignore_eos=True,
                                                        temperature=0)), ("done", "length"), proxy.output())
        finally:
            for p in (bad, good, proxy):
                p.close()


if __name__ == "__main__":
    unittest.main()
