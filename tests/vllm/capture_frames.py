#!/usr/bin/env python3
"""Records the frames a real `vllm serve` (0.33.0) frontend sends its engine.

    capture_frames.py MODEL_DIR OUT.msgpack      (run with the vLLM venv's python)

Starts `vllm serve MODEL_DIR` in external-engine mode on 127.0.0.1, serves it
with the throw-away engine in fake_vllm_engine.py, sends OpenAI requests with
various sampling parameters (greedy, seeded with penalties, stop_token_ids,
logprobs, n=2, min_tokens, a streamed request the client drops), and writes
every frame the frontend sent as tests/fixtures/vllm/frames.msgpack: a list of
{"name", "label", "frames": [bytes...]} in arrival order, plus the request each
ADD came from. The C++ protocol test replays them; nothing here runs in CI.
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_vllm_engine import FakeEngine  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body, timeout=60):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_ready(port, proc, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("vllm serve did not become ready")


def dropped_stream(port, body):
    """Starts a streamed completion and closes the connection after two chunks."""
    s = socket.create_connection(("127.0.0.1", port))
    data = json.dumps(body).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    got = b""
    while got.count(b"data:") < 2:
        got += s.recv(4096)
    s.close()


def main(argv):
    model_dir, out_path = argv[1], argv[2]
    http_port, rpc_port = free_port(), free_port()
    engine = FakeEngine(f"tcp://127.0.0.1:{rpc_port}")
    env = dict(os.environ, VLLM_TARGET_DEVICE="cpu", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", model_dir,
           "--host", "127.0.0.1", "--port", str(http_port), "--max-model-len", "2048",
           "--data-parallel-address", "127.0.0.1", "--data-parallel-rpc-port", str(rpc_port),
           "--data-parallel-size", "1", "--data-parallel-size-local", "0"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        engine.start()
        wait_ready(http_port, proc)
        model = post(http_port, "/v1/completions", {"model": model_dir, "prompt": "Hi", "max_tokens": 1})["model"]
        requests = {
            "greedy": {"prompt": "The capital of France is", "max_tokens": 4, "temperature": 0},
            "sampled": {"prompt": "Once upon a time", "max_tokens": 3, "temperature": 0.7, "top_p": 0.9,
                        "top_k": 40, "min_p": 0.05, "seed": 7, "presence_penalty": 0.5,
                        "frequency_penalty": 0.25, "repetition_penalty": 1.1},
            "stop_ids": {"prompt": "a b c d", "max_tokens": 8, "temperature": 0, "stop_token_ids": [270, 271],
                         "min_tokens": 1, "ignore_eos": True},
            "logprobs": {"prompt": "One two three", "max_tokens": 2, "temperature": 0, "logprobs": 2},
            "n2": {"prompt": "Red green", "max_tokens": 2, "temperature": 0.8, "n": 2, "seed": 3},
        }
        for name, body in requests.items():
            post(http_port, "/v1/completions", dict(body, model=model))
        post(http_port, "/v1/chat/completions", {"model": model, "max_tokens": 2, "temperature": 0,
                                                   "messages": [{"role": "user", "content": "Hi!"}]})
        dropped_stream(http_port, {"model": model, "prompt": "Count: 1 2 3 4 5 6 7 8 9", "max_tokens": 200,
                                   "temperature": 0, "stream": True})
        end = time.time() + 10
        while time.time() < end and not any(f[0] == "abort" for f in engine.frames):
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        engine.stop.set()
    records, n2_seen = [], 0
    names = iter(["warmup"] + list(requests) + ["chat", "dropped_stream"])
    for label, frames in engine.frames:
        entry = {"label": label, "frames": frames}
        if label == "add":  # n=2 fans out into two ADDs of the same name
            name = next(names) if not records or records[-1].get("name") != "n2" or n2_seen == 2 else "n2"
            n2_seen = n2_seen + 1 if name == "n2" else n2_seen
            entry["name"] = name
        records.append(entry)
    with open(out_path, "wb") as f:
        f.write(msgpack.packb(records, use_bin_type=True))
    print(f"{out_path}: {len(records)} frames: " + ", ".join(r.get("name", r["label"]) for r in records))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
