"""CURVE on `loom serve` with the real model: an admitted client streams over
tcp://127.0.0.1; unknown keys and clear-text clients get nothing and cost the
server nothing (1000 attempts against its RSS); a key added to the client
directory is admitted after SIGHUP; the proxy path with both sides encrypted;
a reachable clear-text bind is refused without --insecure; ipc:// is 0600.
Server keys come from pyzmq's zmq.auth, client keys from `loom keygen` and
pyzmq, so each tool reads the other's files."""
import os
import re
import shutil
import signal
import stat
import subprocess
import unittest

import msgpack
import zmq
import zmq.auth

import curve_helpers
import harness
from curve_helpers import rss_kb, send_nowait
from loom_client import LoomClient, LoomTimeout

CONFIG = '{"max_context": 1024, "threads": 2}'
# Under ASan freed memory sits in quarantine and would read as growth; the
# servers started here inherit a small one.
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"


def until(predicate, timeout=60.0):
    return curve_helpers.until(predicate, timeout, interval=0.1)


def keygen(path):
    subprocess.run([harness.LOOM, "keygen", path], check=True, capture_output=True)


class Keys(curve_helpers.Keys):
    def __init__(self, root):
        super().__init__(root, harness.LOOM)

    def client(self, endpoint, who, timeout=120.0, server="server"):
        return super().client(endpoint, who, timeout, server)


def serve(tmp, name, args):
    return harness.Process([harness.LOOM, "serve", "--backend", harness.CPU_SO, "--model", harness.MODEL,
                         "--config-json", CONFIG, "--drain-timeout-ms", "10000"] + args, tmp, name)


def bound_address(proc, timeout=120):
    """The address `loom serve` logs once it serves."""
    found = []

    def seen():
        if not proc.alive():
            raise RuntimeError("loom serve exited:\n" + proc.output())
        m = re.search(r"serving on (\S+)", proc.output())
        if m:
            found.append(m.group(1))
        return bool(found)
    if not until(seen, timeout):
        raise RuntimeError("loom serve did not start:\n" + proc.output())
    return found[0]


def greedy(client, prompt, n=6, stream=True):
    events = list(client.generate(prompt=prompt, max_tokens=n, temperature=0, ignore_eos=True, stream=stream))
    done = events[-1]
    text = "".join(e["text"] for e in events[:-1]) if stream else done["text"]
    return text, done


class CurveServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.temp_dir()
        cls.keys = Keys(cls.tmp)
        cls.server = harness.Process([harness.LOOM, "serve", "--backend", harness.CPU_SO, "--model", harness.MODEL,
                                      "--config-json", CONFIG, "--endpoint", "tcp://127.0.0.1:*",
                                      "--curve-secret", cls.keys.path("server.key_secret"),
                                      "--curve-clients", cls.keys.clients], cls.tmp, "serve")
        cls.endpoint = bound_address(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def setUp(self):
        harness.require_model(self)

    def stats(self):
        with self.keys.client(self.endpoint, "py") as c:
            return c.stats()

    def test_admitted_client_streams_over_tcp(self):
        with self.keys.client(self.endpoint, "loom") as c:
            streamed, done = greedy(c, "The capital of France is")
            self.assertEqual(done["finish_reason"], "length")
            self.assertEqual(done["usage"]["completion_tokens"], 6)
        with self.keys.client(self.endpoint, "py") as c:
            whole, _ = greedy(c, "The capital of France is", stream=False)
        self.assertEqual(streamed, whole)  # greedy: same text streamed and whole, two keys
        self.assertTrue(streamed)

    def attempts(self, count, batch, curve):
        ctx = zmq.Context()
        server_key, _ = zmq.auth.load_certificate(self.keys.path("server.key"))
        replies = 0
        try:
            for _ in range(count // batch):
                socks = []
                for _ in range(batch):
                    s = ctx.socket(zmq.DEALER)
                    s.setsockopt(zmq.LINGER, 0)
                    if curve:
                        s.curve_serverkey = server_key
                        s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
                    s.connect(self.endpoint)
                    send_nowait(s, msgpack.packb({"v": 1, "type": "generate", "id": "x", "prompt": "Tell me a secret",
                                          "params": {"max_tokens": 64}}))
                    socks.append(s)
                poller = zmq.Poller()
                for s in socks:
                    poller.register(s, zmq.POLLIN)
                replies += len(poller.poll(300))
                for s in socks:
                    s.close()
        finally:
            ctx.term()
        return replies

    def test_unknown_key_or_none_gets_nothing_and_costs_nothing(self):
        with self.keys.client(self.endpoint, "py") as c:
            greedy(c, "warm up", 2)  # the engine's own first-job allocations happen here
        before = self.stats()
        self.assertEqual(self.attempts(100, 50, curve=True), 0)
        self.assertEqual(self.attempts(100, 50, curve=False), 0)
        rss0 = rss_kb(self.server.proc.pid)
        self.assertEqual(self.attempts(500, 50, curve=True), 0)
        self.assertEqual(self.attempts(500, 50, curve=False), 0)
        self.assertTrue(until(lambda: self.stats()["auth_denied"] >= before["auth_denied"] + 1200),
                        f"auth_denied {self.stats()['auth_denied']}, was {before['auth_denied']}")
        rss1 = rss_kb(self.server.proc.pid)
        after = self.stats()
        self.assertEqual(after["jobs_finished"], before["jobs_finished"])
        self.assertEqual(after["jobs_in_flight"], 0)
        self.assertEqual(after["running"] + after["waiting"], 0)
        print(f"\nloom serve RSS over 1000 refused attempts: {rss0} -> {rss1} kB", flush=True)
        # A connection's libzmq session, engine and CURVE state take tens of kB:
        # keeping any of it per attempt would pass 4 kB x 1000. Below that is
        # allocator noise (about 1 MB in release, 2-3 MB under ASan).
        self.assertLess(rss1 - rss0, 4096, f"server RSS grew {rss0} -> {rss1} kB over 1000 refused attempts")

    def test_key_added_is_admitted_after_sighup(self):
        keygen(self.keys.path("late"))
        with self.keys.client(self.endpoint, "late", timeout=1.0) as c:
            with self.assertRaises(LoomTimeout):
                c.health()
        shutil.copy(self.keys.path("late.key"), self.keys.clients)
        self.server.signal(signal.SIGHUP)

        def admitted():
            with self.keys.client(self.endpoint, "late", timeout=1.0) as c:
                try:
                    return c.health()["ok"]
                except LoomTimeout:
                    return False
        self.assertTrue(until(admitted, 30))
        with self.keys.client(self.endpoint, "late") as c:
            self.assertEqual(greedy(c, "Hello", 3)[1]["usage"]["completion_tokens"], 3)
        self.assertTrue(self.server.alive())  # SIGHUP reloads, never stops


class CurveProxyServeTest(unittest.TestCase):
    def test_proxy_with_both_sides_encrypted(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        keys = Keys(tmp)
        keygen(keys.path("backend"))
        keygen(keys.path("worker"))
        workers = os.path.join(tmp, "workers")
        os.makedirs(workers)
        shutil.copy(keys.path("worker.key"), workers)
        proxy = harness.Process([harness.LOOM, "proxy", "--frontend", "tcp://127.0.0.1:*",
                                 "--backend", "tcp://127.0.0.1:*", "--heartbeat-ms", "500",
                                 "--heartbeat-timeout-ms", "6000",
                                 "--curve-secret", keys.path("server.key_secret"), "--curve-clients", keys.clients,
                                 "--backend-curve-secret", keys.path("backend.key_secret"),
                                 "--backend-curve-clients", workers], tmp, "proxy")
        worker = None
        try:
            self.assertTrue(until(lambda: re.search(r"^backend (\S+)$", proxy.output(), re.M) is not None, 30),
                            proxy.output())
            front = re.search(r"^frontend (\S+)$", proxy.output(), re.M).group(1)
            back = re.search(r"^backend (\S+)$", proxy.output(), re.M).group(1)
            worker = serve(tmp, "worker", ["--proxy", back, "--curve-server-public", keys.path("backend.key"),
                                           "--curve-secret", keys.path("worker.key_secret")])
            with keys.client(front, "py") as c:
                self.assertTrue(until(lambda: c.stats().get("workers_accepting", 0) >= 1, 120), proxy.output())
                text, done = greedy(c, "Once upon a time", 4)
                self.assertEqual(done["usage"]["completion_tokens"], 4)
            # A clear-text client of the encrypted frontend gets nothing.
            with LoomClient(front, timeout=1.0) as clear:
                with self.assertRaises(LoomTimeout):
                    clear.health()
        finally:
            if worker:
                worker.close()
            proxy.close()


class ClearTextPolicyTest(unittest.TestCase):
    def test_reachable_clear_bind_is_refused_unless_insecure(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        p = serve(tmp, "refused", ["--endpoint", "tcp://0.0.0.0:*"])
        self.assertNotEqual(p.wait(120), 0)
        self.assertIn("--insecure", p.output())
        p.close()
        ok = serve(tmp, "insecure", ["--endpoint", "tcp://0.0.0.0:*", "--insecure"])
        try:
            self.assertTrue(bound_address(ok).startswith("tcp://0.0.0.0:"))
        finally:
            ok.close()

    def test_ipc_socket_is_owner_only_unless_widened(self):
        harness.require_model(self)
        tmp = harness.temp_dir()
        for mode, args in ((0o600, []), (0o660, ["--ipc-mode", "0660"])):
            path = os.path.join(tmp, f"m{mode:o}.sock")
            p = serve(tmp, f"ipc{mode:o}", ["--endpoint", "ipc://" + path] + args)
            try:
                bound_address(p)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), mode)
            finally:
                p.close()


if __name__ == "__main__":
    unittest.main()
