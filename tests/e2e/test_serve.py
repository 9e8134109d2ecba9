"""A backend .so hosted by `loom serve`, driven over ZeroMQ by real clients."""
import os
import signal
import sys
import threading
import time
import unittest

import msgpack
import zmq

import harness
from loom_client import LoomClient, LoomError


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.temp_dir()
        cls.endpoint = f"ipc://{cls.tmp}/loom.sock"
        cls.server = harness.serve(cls.tmp, "serve", endpoint=cls.endpoint,
                                   config='{"max_context": 1024, "threads": 2, "max_num_seqs": 64}')
        harness.wait_ready(cls.endpoint, cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def setUp(self):
        harness.require_model(self)

    def client(self):
        return LoomClient(self.endpoint, timeout=120)

    def test_stream_and_non_stream_give_the_same_text(self):
        with self.client() as c:
            streamed = c.generate_text(prompt="The three laws of motion are", max_tokens=24, temperature=0)
            events = list(c.generate(prompt="The three laws of motion are", max_tokens=24, temperature=0,
                                     stream=False))
        self.assertEqual([e["type"] for e in events], ["done"])
        self.assertEqual(events[0]["text"], streamed)
        self.assertGreater(len(streamed), 0)
        self.assertEqual(events[0]["usage"]["completion_tokens"], 24)

    def test_64_concurrent_clients_each_get_their_own_answer(self):
        prompts = [f"Item {i}: the number {i} written in words is" for i in range(64)]
        with self.client() as c:  # the answer each prompt gets alone
            alone = {p: c.generate_text(prompt=p, max_tokens=6, temperature=0) for p in prompts[:8]}
        got, errors = {}, []

        def run(p):
            try:
                with self.client() as c:
                    got[p] = c.generate_text(prompt=p, max_tokens=6, temperature=0)
            except Exception as e:  # collected, asserted below
                errors.append(repr(e))

        threads = [threading.Thread(target=run, args=(p,)) for p in prompts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        self.assertEqual(errors, [])
        self.assertEqual(len(got), 64)
        for p, text in alone.items():  # batched greedy answers equal the lone ones
            self.assertEqual(got[p], text, p)
        self.assertEqual(len(set(got.values())) > 1, True)

    def test_cancel_mid_stream(self):
        with self.client() as c:
            stream = c.generate(prompt="Count slowly:", max_tokens=400, ignore_eos=True, temperature=0)
            seen = 0
            for ev in stream:
                seen += 1
                if seen == 3:
                    c.cancel(stream.id)
                if ev["type"] == "done":
                    self.assertEqual(ev["finish_reason"], "cancelled")
                    break
            self.assertLess(seen, 400)

    def test_deadline_expires(self):
        with self.client() as c:
            events = list(c.generate(prompt="Write a long essay:", max_tokens=900, ignore_eos=True,
                                     deadline_ms=400))
        self.assertEqual(events[-1]["type"], "done")
        self.assertEqual(events[-1]["finish_reason"], "deadline")

    def test_bad_inputs_get_precise_errors_and_the_backend_survives(self):
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        frames = [
            (b"\xc1garbage", None),                                               # not msgpack
            (msgpack.packb([1, 2, 3]), None),                                      # not a map
            (msgpack.packb({"v": 1, "type": "fly", "id": "a"}), "bad_request"),      # unknown type
            (msgpack.packb({"v": 1, "type": "generate", "id": "b", "prompt": 7}), "bad_request"),
            (msgpack.packb({"v": 1, "type": "generate", "id": "c", "prompt": ""}), "bad_request"),
            (msgpack.packb({"v": 1, "type": "generate", "id": "d", "prompt": "hi",
                            "params": {"temperature": -1}}), "bad_request"),
            (msgpack.packb({"v": 1, "type": "generate", "id": "e", "prompt": "hi " * 2000}), "too_long"),
            (msgpack.packb({"v": 1, "type": "generate", "id": "f", "prompt": "hi",
                            "params": {"max_tokens": 5000}}), "too_long"),
        ]
        for frame, _ in frames:
            s.send(frame)
        replies = []
        deadline = time.monotonic() + 60
        while len(replies) < len(frames) and time.monotonic() < deadline:
            if s.poll(1000, zmq.POLLIN):
                replies.append(msgpack.unpackb(s.recv(), raw=False))
        s.close()
        self.assertEqual(len(replies), len(frames), replies)
        self.assertTrue(all(r["type"] == "error" for r in replies), replies)
        by_id = {r["id"]: r for r in replies if r["id"] is not None}
        self.assertEqual(sum(r["id"] is None for r in replies), 2)
        for frame, code in frames[2:]:
            rid = msgpack.unpackb(frame, raw=False)["id"]
            self.assertEqual(by_id[rid]["code"], code, by_id[rid])
            self.assertTrue(by_id[rid]["message"])
        with self.client() as c:  # still serving
            self.assertTrue(c.generate_text(prompt="Hello", max_tokens=3))
            self.assertTrue(c.health()["ok"])


class DrainTest(unittest.TestCase):
    def test_sigterm_lets_jobs_in_flight_finish(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        endpoint = f"ipc://{tmp}/loom.sock"
        server = harness.serve(tmp, "drain", endpoint=endpoint)
        try:
            harness.wait_ready(endpoint, server)
            with LoomClient(endpoint, timeout=120) as c:
                stream = c.generate(prompt="Tell me a story.", max_tokens=40, ignore_eos=True)
                first = next(stream)
                self.assertEqual(first["type"], "delta")
                server.signal(signal.SIGTERM)
                events = list(stream)
            self.assertEqual(events[-1]["type"], "done")
            self.assertEqual(events[-1]["finish_reason"], "length")
            self.assertEqual(server.wait(timeout=60), 0)
        finally:
            server.close()


if __name__ == "__main__":
    unittest.main()
