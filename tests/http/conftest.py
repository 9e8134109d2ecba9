"""Real processes for the HTTP tests: `loom serve --http` on the real model,
and `loom http --connect` in front of a `loom proxy` with two `loom serve
--proxy` workers. Paths come from the environment scripts/test_http.sh sets
(LOOM_BIN, LOOM_CPU_SO, LOOM_TEST_MODEL)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

LOOM = os.environ["LOOM_BIN"]
CPU_SO = os.environ["LOOM_CPU_SO"]
MODEL = os.environ["LOOM_TEST_MODEL"]
API_KEY = "test-key-123"
CONFIG = '{"max_context": 1024, "threads": 2, "max_num_seqs": 64}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, args, log_dir, name):
        self.args = args
        self.log_path = os.path.join(log_dir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Server:
    """One HTTP front (base_url) and the processes behind it."""

    def __init__(self, mode, base_url, procs):
        self.mode = mode
        self.base_url = base_url
        self.procs = procs

    def get(self, path, headers=None):
        req = urllib.request.Request(self.base_url + path, headers=headers or {})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()

    def post(self, path, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY}
        h.update(headers or {})
        req = urllib.request.Request(self.base_url + path, data=data, headers=h, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def metrics(self):
        """The /metrics samples as {line-without-value: value}."""
        _, body = self.get("/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def metric(self, name):
        return sum(v for k, v in self.metrics().items() if k.split("{")[0] == name)

    def close(self):
        for p in reversed(self.procs):
            p.close()


def wait_http_ready(base_url, procs, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.args[1]} exited early:\n" + p.output())
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} not ready after {timeout} s:\n" + "\n".join(p.output() for p in procs))


def start_serve(tmp):
    port = free_port()
    p = Process([LOOM, "serve", "--backend", CPU_SO, "--model", MODEL, "--config-json", CONFIG,
                 "--http", f"127.0.0.1:{port}", "--api-key", API_KEY], tmp, "serve")
    base = f"http://127.0.0.1:{port}"
    wait_http_ready(base, [p])
    return Server("serve", base, [p])


def start_gateway(tmp):
    front, back = f"ipc://{tmp}/front.sock", f"ipc://{tmp}/back.sock"
    procs = [Process([LOOM, "proxy", "--frontend", front, "--backend", back], tmp, "proxy")]
    for i in range(2):
        procs.append(Process([LOOM, "serve", "--backend", CPU_SO, "--model", MODEL, "--config-json", CONFIG,
                              "--proxy", back], tmp, f"worker{i}"))
    port = free_port()
    env = dict(os.environ, LOOM_API_KEY=API_KEY)  # the environment's key, as documented
    gw = subprocess.Popen([LOOM, "http", "--listen", f"127.0.0.1:{port}", "--connect", front],
                          stdout=open(os.path.join(tmp, "http.log"), "w"), stderr=subprocess.STDOUT, env=env)
    gwp = Process.__new__(Process)
    gwp.args, gwp.proc = ["loom", "http"], gw
    gwp.log_path = os.path.join(tmp, "http.log")
    gwp.log = open(gwp.log_path, "a")
    procs.append(gwp)
    base = f"http://127.0.0.1:{port}"
    wait_http_ready(base, procs)
    # Both workers joined: the proxy's health says so.
    deadline = time.monotonic() + 120
    server = Server("gateway", base, procs)
    while time.monotonic() < deadline:
        status, body = server.post("/tokenize", {"prompt": "ready"})
        if status == 200 and "2 workers (2 accepting)" in _health_detail(base):
            return server
        time.sleep(0.3)
    server.close()
    raise RuntimeError("workers did not join:\n" + "\n".join(p.output() for p in procs))


def _health_detail(base):
    try:
        with urllib.request.urlopen(base + "/health", timeout=2) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        return e.read().decode()


@pytest.fixture(scope="session", params=["serve", "gateway"])
def server(request):
    tmp = tempfile.mkdtemp(prefix="loom-http-")
    s = start_serve(tmp) if request.param == "serve" else start_gateway(tmp)
    yield s
    s.close()
