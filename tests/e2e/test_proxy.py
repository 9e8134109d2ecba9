"""`loom proxy` in front of two real backends (loom serve --proxy): jobs are
served through it, and when one backend is killed mid-job its jobs get
`unavailable` while new jobs go to the survivor."""
import re
import signal
import time
import unittest

import harness
from loom_client import LoomClient, LoomError


def short_job(client, prompt):
    """A 4-token greedy job that ignores EOS: (finish_reason, completion tokens) of its done.
    (A sampled job may legitimately end at once with empty text, so text is no proof.)"""
    done = list(client.generate(prompt=prompt, max_tokens=4, temperature=0, ignore_eos=True))[-1]
    return done.get("finish_reason"), done.get("usage", {}).get("completion_tokens")


class ProxyTest(unittest.TestCase):
    def test_worker_killed_mid_job(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        front, back = f"ipc://{tmp}/front.sock", f"ipc://{tmp}/back.sock"
        proxy = harness.Process([harness.LOOM, "proxy", "--frontend", front, "--backend", back,
                                 # Tolerant of a worker stalled by a sanitizer build on a busy
                                 # machine; a killed worker is still found within seconds.
                                 "--heartbeat-ms", "500", "--heartbeat-timeout-ms", "6000"], tmp, "proxy")
        workers = [harness.serve(tmp, f"w{i}", proxy=back) for i in range(2)]
        try:
            with LoomClient(front, timeout=120) as c:
                deadline = time.monotonic() + 120
                while c.stats().get("workers_accepting", 0) < 2:
                    self.assertLess(time.monotonic(), deadline, proxy.output())
                    time.sleep(0.2)
                self.assertEqual(short_job(c, "Hello there"), ("length", 4))
                # Two long jobs: least-loaded routing puts one on each worker.
                streams = [c.generate(prompt=f"Story {i}:", max_tokens=300, ignore_eos=True) for i in range(2)]
                for s in streams:
                    self.assertEqual(next(s)["type"], "delta")
                workers[0].signal(signal.SIGKILL)
                outcomes = []
                for s in streams:
                    try:
                        events = list(s)
                        outcomes.append(events[-1].get("finish_reason"))
                    except LoomError as e:
                        outcomes.append(e.code if hasattr(e, "code") else str(e))
                self.assertIn("unavailable", [str(o) for o in outcomes], outcomes)
                # New work goes to the survivor.
                self.assertEqual(short_job(c, "Still there?"), ("length", 4))
        finally:
            for w in workers:
                w.close()
            proxy.close()


if __name__ == "__main__":
    unittest.main()
