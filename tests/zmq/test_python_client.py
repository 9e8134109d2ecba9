"""adapters/python/loom_client.py against the C++ endpoint (loom_zmq_fake_server,
FakeEngine: prompt P gives deltas "P:0 ", "P:1 ", ...; prompt "hang" never ends)."""
import os
import subprocess
import tempfile
import time
import unittest

import msgpack
import zmq

import loom_client
from loom_client import LoomClient, LoomError, LoomTimeout

SERVER = os.environ.get("LOOM_ZMQ_FAKE_SERVER")


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SERVER:
            raise unittest.SkipTest("LOOM_ZMQ_FAKE_SERVER not set (run through ctest)")
        cls.tmp = tempfile.TemporaryDirectory()
        # Keep-alive 500 ms so the vanish test is quick.
        cls.proc = subprocess.Popen([SERVER, f"ipc://{cls.tmp.name}/s.sock", "1000", "500"],
                                    stdout=subprocess.PIPE, text=True)
        cls.endpoint = cls.proc.stdout.readline().strip()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.tmp.cleanup()

    def setUp(self):
        self.client = LoomClient(self.endpoint, timeout=5.0, keepalive_interval=0.1)

    def tearDown(self):
        self.client.close()

    def test_stream_and_non_stream_agree(self):
        events = list(self.client.generate(prompt="p", max_tokens=4, stream=True))
        self.assertEqual([e["type"] for e in events], ["delta"] * 4 + ["done"])
        streamed = "".join(e["text"] for e in events if e["type"] == "delta")
        self.assertEqual(streamed, "p:0 p:1 p:2 p:3 ")
        self.assertEqual(events[-1]["finish_reason"], "length")
        self.assertEqual(events[-1]["usage"]["completion_tokens"], 4)
        whole = list(self.client.generate(prompt="p", max_tokens=4, stream=False))
        self.assertEqual(len(whole), 1)
        self.assertEqual(whole[0]["text"], streamed)
        self.assertEqual(self.client.generate_text(prompt="p", max_tokens=4), streamed)

    def test_bad_request_raises_with_field(self):
        with self.assertRaises(LoomError) as ctx:
            list(self.client.generate(prompt="x", max_tokens=3, top_p=1.5))
        self.assertEqual(ctx.exception.code, "bad_request")
        self.assertEqual(ctx.exception.field, "params.top_p")
        with self.assertRaises(TypeError):
            self.client.generate(prompt="x", top_q=1)

    def test_interleaved_streams(self):
        a = self.client.generate(prompt="a", max_tokens=3)
        b = self.client.generate(prompt="b", max_tokens=3)
        text_b = "".join(e.get("text", "") for e in b)
        text_a = "".join(e.get("text", "") for e in a)
        self.assertEqual(text_a, "a:0 a:1 a:2 ")
        self.assertEqual(text_b, "b:0 b:1 b:2 ")

    def test_cancel_mid_stream(self):
        stream = self.client.generate(prompt="x", max_tokens=100000)
        next(stream)
        self.client.cancel(stream.id)
        last = list(stream)[-1]
        self.assertEqual(last["finish_reason"], "cancelled")

    def test_keepalive_keeps_a_slow_job_alive(self):
        # The wait outlives the server's 500 ms keep-alive while the client
        # pings every 0.1 s; the timeout must still raise (not hang) and the
        # connection stays usable. (The C++ test checks clients_expired == 0.)
        stream = self.client.generate(prompt="hang", max_tokens=1)
        with self.assertRaises(LoomTimeout):
            self.client.timeout = 1.5
            next(stream)
        stats = self.client.stats()
        self.assertEqual(stats["type"], "stats")

    def test_stats_and_health(self):
        self.assertTrue(self.client.health()["ok"])
        self.assertIn("jobs_in_flight", self.client.stats())

    def test_timeout_raises_instead_of_hanging(self):
        dead = LoomClient(f"ipc://{self.tmp.name}/nobody.sock", timeout=0.3)
        start = time.monotonic()
        with self.assertRaises(LoomTimeout):
            dead.health()
        self.assertLess(time.monotonic() - start, 5)
        dead.close()

    def test_undecodable_frame_gets_nil_id_error(self):
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        sock.send(b"\xc1")
        self.assertTrue(sock.poll(5000))
        reply = msgpack.unpackb(sock.recv(), raw=False)
        self.assertEqual(reply["type"], "error")
        self.assertIsNone(reply["id"])
        sock.close()

    def test_cli_prints_streamed_text(self):
        out = subprocess.run(["/usr/bin/python3", loom_client.__file__, "--endpoint", self.endpoint,
                              "--prompt", "cli", "--max-tokens", "2"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "cli:0 cli:1")


if __name__ == "__main__":
    unittest.main()
