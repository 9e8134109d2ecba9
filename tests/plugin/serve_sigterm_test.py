#!/usr/bin/python3
"""`loom serve` end to end: start it on an ipc endpoint, run a job over
ZeroMQ while another is still streaming, send SIGTERM, and check that the
job in flight still finishes (drain), the process exits 0 and says it drained.

    serve_sigterm_test.py LOOM_BINARY PLUGIN_SO MODEL
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "adapters", "python"))
from loom_client import LoomClient  # noqa: E402


def main():
    loom, plugin, model = sys.argv[1:4]
    address = f"ipc:///tmp/loom-serve-test-{os.getpid()}.sock"
    proc = subprocess.Popen(
        [loom, "serve", "--backend", plugin, "--model", model, "--endpoint", address, "--config-json",
         '{"kv_cache_bytes": 100000000, "max_context": 1024, "threads": 2}'],
        stderr=subprocess.PIPE, text=True)
    try:
        client = LoomClient(address, timeout=120)
        text = client.generate_text(prompt="The capital of France is", max_tokens=8, temperature=0.0)
        assert text, "empty completion"
        # A longer job in flight when SIGTERM arrives: drain lets it finish.
        stream = iter(client.generate(prompt="Count: 1, 2, 3,", max_tokens=48, temperature=0.0,
                                      ignore_eos=True))
        first = next(stream)
        proc.send_signal(signal.SIGTERM)
        events = [first] + list(stream)
        done = events[-1]
        assert done["type"] == "done", done
        assert done["finish_reason"] == "length", f"drain cut the job short: {done}"
        rc = proc.wait(timeout=120)
        err = proc.stderr.read()
        assert rc == 0, f"loom serve exited {rc}:\n{err}"
        assert "SIGTERM: draining" in err and "drained" in err, err
        print("ok:", repr(text))
        return 0
    finally:
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
