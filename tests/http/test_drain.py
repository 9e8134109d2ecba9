"""`loom serve` with both doors (ZeroMQ and HTTP), drained by SIGTERM: while
a stream is still running /health answers 503, new jobs are refused, the
running stream still ends with [DONE], and the process exits 0."""
import json
import signal
import socket
import tempfile
import time
import urllib.error
import urllib.request

from conftest import API_KEY, CONFIG, CPU_SO, LOOM, MODEL, Process, free_port, wait_http_ready


def status_of(url, data=None):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                          "Authorization": "Bearer " + API_KEY})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_sigterm_drains_http():
    tmp = tempfile.mkdtemp(prefix="loom-http-drain-")
    port = free_port()
    p = Process([LOOM, "serve", "--backend", CPU_SO, "--model", MODEL, "--config-json", CONFIG,
                 "--endpoint", f"ipc://{tmp}/zmq.sock", "--http", f"127.0.0.1:{port}", "--api-key", API_KEY,
                 "--drain-timeout-ms", "60000"], tmp, "serve")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(base, [p])
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 120, "stream": True, "ignore_eos": True,
                           "temperature": 0}).encode()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
                  b"Bearer " + API_KEY.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        got = b""
        while got.count(b"data: ") < 2:
            got += s.recv(65536)
        p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while status_of(base + "/health") != 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status_of(base + "/health") == 503
        assert status_of(base + "/v1/completions", json.dumps({"prompt": "x", "max_tokens": 2}).encode()) == 503
        s.settimeout(60)
        while b"data: [DONE]" not in got:
            chunk = s.recv(65536)
            assert chunk, "the stream was cut before [DONE]"
            got += chunk
        assert b'"finish_reason":"length"' in got
        assert p.proc.wait(timeout=60) == 0, p.output()
    finally:
        p.close()
