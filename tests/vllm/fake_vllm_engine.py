"""A throw-away vLLM 0.33.0 EngineCore made of pyzmq + msgpack only.

It connects to a `vllm serve` frontend in external-engine mode as DP engine 0,
does the handshake, records every frame the frontend sends, and answers:
utility calls with what a text-generation engine returns, ADD with the prompt's
own token ids echoed back one per step (finish LENGTH at max_tokens, STOP on
stop_token_ids), ABORT by dropping the request. Used by capture_frames.py to
record the real frames; it never runs in CI.
"""
import threading
import time

import msgpack
import zmq

ADD, ABORT, UTILITY = b"\x00", b"\x01", b"\x03"
STOP, LENGTH = 0, 1

UTILITY_RESULTS = {
    "get_supported_tasks": ["generate"],
    "reset_mm_cache": None,
    "reset_prefix_cache": True,
    "is_sleeping": False,
}


def ready_response(max_model_len):
    return {
        "max_model_len": max_model_len, "num_gpu_blocks": 1024, "block_size": 16,
        "dp_stats_address": None, "dtype": "float16", "vllm_version": "0.33.0",
        "world_size": 1, "data_parallel_size": 1, "tensor_parallel_size": 1,
        "pipeline_parallel_size": 1, "decode_context_parallel_size": 1,
        "data_parallel_rank": 0, "max_num_seqs": 64, "max_num_batched_tokens": 2048,
        "instance_id": "fake", "supports_lora": False, "max_loras": 0,
    }


class FakeEngine:
    def __init__(self, handshake_address, max_model_len=2048, step_s=0.02):
        self.handshake_address = handshake_address
        self.max_model_len = max_model_len
        self.step_s = step_s
        self.frames = []        # (label, [bytes...]) in arrival order
        self.outputs = []       # what this engine sent (bytes)
        self.lock = threading.Lock()
        self.live = {}          # request id -> state
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def record(self, label, frames):
        with self.lock:
            self.frames.append((label, [bytes(f) for f in frames]))

    def run(self):
        ctx = zmq.Context()
        ident = (0).to_bytes(2, "little")
        hs = ctx.socket(zmq.DEALER)
        hs.setsockopt(zmq.IDENTITY, ident)
        hs.connect(self.handshake_address)
        hs.send(msgpack.packb({"status": "HELLO", "local": False, "headless": True}))
        init = hs.recv()
        self.record("handshake_init", [init])
        addresses = msgpack.unpackb(init)["addresses"]
        inp = ctx.socket(zmq.DEALER)
        inp.setsockopt(zmq.IDENTITY, ident)
        inp.connect(addresses["inputs"][0])
        out = ctx.socket(zmq.PUSH)
        out.connect(addresses["outputs"][0])
        self.out = out
        inp.send(msgpack.packb(ready_response(self.max_model_len)))
        hs.send(msgpack.packb({"status": "READY", "local": False, "headless": True}))
        poller = zmq.Poller()
        poller.register(inp, zmq.POLLIN)
        while not self.stop.is_set():
            if poller.poll(int(self.step_s * 1000)):
                frames = inp.recv_multipart()
                self.on_frames(frames)
            self.step()
        out.send(b"ENGINE_CORE_DEAD")
        time.sleep(0.2)
        ctx.destroy(linger=500)

    def send(self, outputs):
        payload = msgpack.packb(outputs)
        self.outputs.append(payload)
        self.out.send(payload)

    def on_frames(self, frames):
        kind, payload = frames[0], frames[1]
        body = msgpack.unpackb(payload, strict_map_key=False)
        if kind == ADD:
            self.record("add", frames)
            rid, prompt, sp = body[0], body[1], body[3]
            self.live[rid] = {"prompt": prompt, "sp": sp, "n": 0}
        elif kind == ABORT:
            self.record("abort", frames)
            for rid in body:
                self.live.pop(rid, None)
        elif kind == UTILITY:
            self.record("utility", frames)
            client, call_id, method, _args = body
            util = [call_id, None, [None, UTILITY_RESULTS.get(method)]]
            self.send([0, [], None, time.monotonic(), util])
        else:
            self.record("other", frames)

    @staticmethod
    def ndarray(values, dtype):
        """vLLM's inline ndarray: [dtype.str, shape, Ext(3, raw bytes)] (serial_utils.py)."""
        import numpy as np
        arr = np.asarray(values, dtype=dtype)
        return [arr.dtype.str, list(arr.shape), msgpack.ExtType(3, arr.tobytes())]

    def logprobs(self, tok, k):
        """LogprobsLists for one position: sampled token first, then k alternatives."""
        if k is None:
            return None
        ids = [[tok] + [tok + 1 + i for i in range(k)]]
        lps = [[-0.5] + [-1.0 - i for i in range(k)]]
        return [self.ndarray(ids, "<i4"), self.ndarray(lps, "<f4"), self.ndarray([1], "<i4"), None]

    def step(self):
        if not self.live:
            return
        outs, finished = [], []
        for rid, st in list(self.live.items()):
            sp = st["sp"]
            tok = st["prompt"][st["n"] % len(st["prompt"])]
            st["n"] += 1
            reason, stop_reason = None, None
            if tok in (sp.get("stop_token_ids") or []):
                reason, stop_reason = STOP, tok
            elif st["n"] >= (sp.get("max_tokens") or 16):
                reason = LENGTH
            outs.append([rid, [tok], self.logprobs(tok, sp.get("logprobs")), None, None, reason, stop_reason])
            if reason is not None:
                finished.append(rid)
                del self.live[rid]
        stats = {"num_running_reqs": len(self.live), "num_waiting_reqs": 0}
        self.send([0, outs, stats, time.monotonic(), None, finished or None])
