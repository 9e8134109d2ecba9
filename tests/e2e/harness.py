"""Real processes for end-to-end tests: `loom serve` hosting a backend .so,
`loom proxy`, and clients over real ZeroMQ sockets. Paths come from the
environment that tests/e2e/CMakeLists.txt sets."""
import os
import signal
import subprocess
import tempfile
import time

import zmq

LOOM = os.environ["LOOM_BIN"]
CPU_SO = os.environ["LOOM_CPU_SO"]
CPU_REF_SO = os.environ["LOOM_CPU_REF_SO"]
MODEL = os.environ["LOOM_TEST_MODEL"]
# The CUDA backend on the SIMT emulator; empty when this build has no emulator
# (e.g. the ASan build), and then the tests that need it are skipped.
CUDA_EMU_SO = os.environ.get("LOOM_CUDA_EMU_SO", "")
# A small configuration the emulated CUDA backend runs in seconds per token:
# context 256, two sequences, decode steps replaying the CUDA graph of one.
CUDA_EMU_CONFIG = '{"max_context": 256, "max_num_seqs": 2, "max_batch_tokens": 64, "graph_batch_sizes": [1]}'


def require_model(test):
    if not os.path.exists(MODEL):
        test.fail(f"model {MODEL} is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)")


def require_cuda_emu(test):
    if not CUDA_EMU_SO:
        test.skipTest("libloom_cuda_emu.so was not built (this build has no SIMT emulator, e.g. an ASan build)")


class Process:
    """A child process whose output goes to a log file; stopped on close()."""

    def __init__(self, args, log_dir, name):
        self.log_path = os.path.join(log_dir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def output(self):
        if not self.log.closed:
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


def wait_ready(endpoint, proc, timeout=120):
    """Until a `health` request on `endpoint` is answered (the backend is up)."""
    import msgpack
    ctx = zmq.Context.instance()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError("process exited early:\n" + proc.output())
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        s.send(msgpack.packb({"v": 1, "type": "health", "id": "ready?"}))
        ok = s.poll(500, zmq.POLLIN)
        s.close()
        if ok:
            return
    raise RuntimeError(f"{endpoint} not ready after {timeout} s:\n" + proc.output())


def serve(tmp, name, backend=CPU_SO, endpoint=None, proxy=None, config=None):
    args = [LOOM, "serve", "--backend", backend, "--model", MODEL, "--drain-timeout-ms", "30000"]
    args += ["--endpoint", endpoint] if endpoint else ["--proxy", proxy]
    args += ["--config-json", config or '{"max_context": 1024, "threads": 2}']
    return Process(args, tmp, name)


def temp_dir():
    return tempfile.mkdtemp(prefix="loom-e2e-")
