#!/usr/bin/python3
"""Python client of Loom's v1 job protocol (adapters/zmq/PROTOCOL.md).

    client = LoomClient("ipc:///tmp/loom.sock")
    for ev in client.generate(prompt="Hello", max_tokens=32, stream=True):
        if ev["type"] == "delta":
            print(ev["text"], end="")
    text = client.generate_text(prompt="Hello", max_tokens=32)

Events are the protocol's maps (decoded msgpack dicts). The iterator ends
after the terminal `done`; an `error` raises LoomError. No answer within
`timeout` seconds raises LoomTimeout (and cancels the job). Keep-alive is
automatic while the client waits. Not thread-safe: one client per thread.

CURVE (a backend started with --curve-secret/--curve-clients): pass the
server's public certificate and this client's secret certificate, files as
`loom keygen` or zmq.auth.create_certificates write them:

    client = LoomClient("tcp://host:5555", curve_server_public="server.key",
                        curve_secret="me.key_secret")

A server that does not admit the key answers nothing (LoomTimeout).
"""
import argparse
import itertools
import os
import sys
import time

import msgpack
import zmq

PROTOCOL_VERSION = 1
PARAM_NAMES = ("max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop",
               "stop_token_ids", "ignore_eos", "repetition_penalty", "presence_penalty",
               "frequency_penalty", "logprobs")


class LoomError(Exception):
    """An `error` message from the backend: .code, .field, .message, .id."""

    def __init__(self, msg):
        self.code = msg.get("code")
        self.field = msg.get("field")
        self.message = msg.get("message")
        self.id = msg.get("id")
        super().__init__(f"{self.code}: {self.message}")


class LoomTimeout(Exception):
    """No answer from the backend within the client's timeout."""


def _curve_keys(server_public, secret):
    """(server public, own public, own secret) from certificate files."""
    import zmq.auth
    if bool(server_public) != bool(secret):
        raise ValueError("CURVE needs both curve_server_public (the server's NAME.key) "
                         "and curve_secret (this client's NAME.key_secret)")
    server_key, _ = zmq.auth.load_certificate(server_public)
    public, secret_key = zmq.auth.load_certificate(secret)
    if secret_key is None:
        raise ValueError(f"{secret}: no secret-key (give the NAME.key_secret file)")
    return server_key, public, secret_key


class LoomClient:
    def __init__(self, endpoint, timeout=30.0, keepalive_interval=2.0,
                 curve_server_public=None, curve_secret=None):
        self.endpoint = endpoint
        self.timeout = timeout
        self.keepalive_interval = keepalive_interval
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        if curve_server_public or curve_secret:
            server_key, public, secret_key = _curve_keys(curve_server_public, curve_secret)
            self._sock.curve_serverkey = server_key
            self._sock.curve_publickey = public
            self._sock.curve_secretkey = secret_key
        self._sock.connect(endpoint)
        self._ids = itertools.count()
        self._prefix = f"py{os.getpid()}-{id(self) & 0xffff:x}-"
        self._jobs = {}      # id -> list of buffered events, for jobs in flight
        self._replies = []   # stats / health / id-less errors
        self._last_send = time.monotonic()

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ----
    def generate(self, prompt=None, input_ids=None, messages=None, stream=True, id=None,
                 priority=None, deadline_ms=None, **params):
        """Sends a job; returns an iterator over its events (deltas, then done)."""
        unknown = set(params) - set(PARAM_NAMES)
        if unknown:
            raise TypeError(f"unknown parameters: {sorted(unknown)}")
        job_id = id if id is not None else self._prefix + str(next(self._ids))
        msg = {"v": PROTOCOL_VERSION, "type": "generate", "id": job_id, "stream": stream,
               "params": {k: v for k, v in params.items() if v is not None}}
        for key, value in (("prompt", prompt), ("input_ids", input_ids), ("messages", messages),
                           ("priority", priority), ("deadline_ms", deadline_ms)):
            if value is not None:
                msg[key] = value
        self._send(msg)
        self._jobs[job_id] = []
        return _Stream(self, job_id)

    def generate_text(self, **kwargs):
        """The whole generated text of one job (streamed underneath)."""
        parts = []
        for ev in self.generate(**kwargs):
            if ev["type"] == "delta":
                parts.append(ev["text"])
            elif ev["type"] == "done" and "text" in ev:
                parts = [ev["text"]]
        return "".join(parts)

    def cancel(self, job_id):
        """Best effort, never blocks: a server this client cannot reach runs no job of it."""
        try:
            self._send({"v": PROTOCOL_VERSION, "type": "cancel", "id": job_id}, wait=0)
        except LoomTimeout:
            pass

    def stats(self):
        return self._ask("stats")

    def health(self):
        return self._ask("health")

    # ---- plumbing ----
    def _send(self, msg, wait=None):
        """Sends within `wait` s (default: the timeout). A DEALER without a live
        connection (server down, or one that refused this client's CURVE key)
        cannot take a frame; that raises LoomTimeout instead of blocking."""
        frame = msgpack.packb(msg, use_bin_type=True)
        deadline = time.monotonic() + (self.timeout if wait is None else wait)
        while True:
            try:
                self._sock.send(frame, zmq.NOBLOCK)
                break
            except zmq.Again:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LoomTimeout(f"cannot send to {self.endpoint}: no connection (server down, "
                                      "or it did not admit this client's CURVE key)")
                self._sock.poll(max(1, int(min(left, 0.1) * 1000)), zmq.POLLOUT)
        self._last_send = time.monotonic()

    def _ask(self, kind):
        req_id = self._prefix + kind[0] + str(next(self._ids))
        self._send({"v": PROTOCOL_VERSION, "type": kind, "id": req_id})
        return self._wait(lambda: self._take_reply(req_id))

    def _take_reply(self, req_id):
        for i, m in enumerate(self._replies):
            if m.get("id") == req_id:
                del self._replies[i]
                if m["type"] == "error":
                    raise LoomError(m)
                return m
        return None

    def _wait(self, take):
        deadline = time.monotonic() + self.timeout
        while True:
            got = take()
            if got is not None:
                return got
            now = time.monotonic()
            if now >= deadline:
                raise LoomTimeout(f"no answer from {self.endpoint} within {self.timeout} s")
            if self._jobs and now - self._last_send >= self.keepalive_interval:
                try:
                    self._send({"v": PROTOCOL_VERSION, "type": "health"}, wait=0)  # keep-alive
                except LoomTimeout:
                    self._last_send = now  # no connection now: the wait below times out
            wait = min(deadline - now, self.keepalive_interval, 1.0)
            if self._sock.poll(max(1, int(wait * 1000)), zmq.POLLIN):
                self._drain_socket()

    def _drain_socket(self):
        while True:
            try:
                frame = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            m = msgpack.unpackb(frame, raw=False)
            mid = m.get("id")
            if m["type"] in ("delta", "done", "error") and mid in self._jobs:
                self._jobs[mid].append(m)
            elif m["type"] in ("stats", "health", "error") and (mid is not None or m["type"] == "error"):
                self._replies.append(m)
                del self._replies[:-1000]  # bounded: stale replies nobody asked for


class _Stream:
    """Iterator over one job's events; raises LoomError on `error`."""

    def __init__(self, client, job_id):
        self._client = client
        self.id = job_id
        self._finished = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        client = self._client
        try:
            ev = client._wait(lambda: client._jobs[self.id].pop(0) if client._jobs[self.id] else None)
        except LoomTimeout:
            self.cancel()
            raise
        if ev["type"] != "delta":
            self._finished = True
            del client._jobs[self.id]
            if ev["type"] == "error":
                raise LoomError(ev)
        return ev

    def cancel(self):
        """Cancels the job; its further events are dropped."""
        if not self._finished:
            self._finished = True
            self._client._jobs.pop(self.id, None)
            self._client.cancel(self.id)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Stream a completion from a Loom backend.")
    ap.add_argument("--endpoint", required=True, help="tcp://host:port or ipc:///path")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--chat", action="store_true", help="send the prompt as one user message")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--curve-server-public", help="the server's public certificate (NAME.key)")
    ap.add_argument("--curve-secret", help="this client's secret certificate (NAME.key_secret)")
    args = ap.parse_args(argv)
    client = LoomClient(args.endpoint, timeout=args.timeout, curve_server_public=args.curve_server_public,
                        curve_secret=args.curve_secret)
    prompt = {"messages": [{"role": "user", "content": args.prompt}]} if args.chat else {"prompt": args.prompt}
    try:
        for ev in client.generate(max_tokens=args.max_tokens, temperature=args.temperature, **prompt):
            if ev["type"] == "delta":
                sys.stdout.write(ev["text"])
                sys.stdout.flush()
            else:
                sys.stdout.write("\n")
                print(f"[{ev['finish_reason']}, {ev['usage']['completion_tokens']} tokens, "
                      f"{ev['timing']['total_ms']:.0f} ms]", file=sys.stderr)
    except (LoomError, LoomTimeout) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
