"""The load generator's runner for OpenAI-compatible HTTP servers (Loom's
`loom serve --http`, llama.cpp's `llama-server`): one thread and one
keep-alive connection per stream, `POST /v1/completions` with `stream: true`,
every SSE chunk timestamped as it arrives. Same Request objects and run()
shape as load_gen.Runner, so report.py summarizes both alike."""
import collections
import http.client
import json
import threading
import time
import urllib.parse


class HttpRunner:
    def __init__(self, base_url, timeout_s, model=None):
        u = urllib.parse.urlsplit(base_url)
        self.host, self.port = u.hostname, u.port or 80
        self.timeout_s = timeout_s
        self.model = model

    def ask_stats(self, wait_s=10.0):
        return {}  # no cross-server counters: the report's server columns stay empty

    def _one(self, conn, req):
        body = {"prompt": req.prompt_ids, "max_tokens": req.output_len, "temperature": 0.0, "stream": True,
                "ignore_eos": True, "stream_options": {"include_usage": True}}
        if self.model:
            body["model"] = self.model
        req.t_send = time.perf_counter()
        conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            req.error = f"HTTP {resp.status}: {resp.read()[:200]!r}"
            req.t_done = time.perf_counter()
            return
        chunks = 0
        for line in resp:  # http.client de-chunks; SSE frames are lines
            if not line.startswith(b"data: "):
                continue
            payload = line[6:].strip()
            now = time.perf_counter()
            if payload == b"[DONE]":
                break
            m = json.loads(payload)
            if m.get("usage") and not m.get("choices"):
                u = m["usage"]
                req.usage = {k: v for k, v in u.items() if isinstance(v, int)}
                req.usage["cached_tokens"] = (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
                continue
            for ch in m.get("choices", []):
                if ch.get("text"):
                    chunks += 1
                    if req.t_first is None:
                        req.t_first = now
                    req.t_last = now
                if ch.get("finish_reason"):
                    req.finish_reason = ch["finish_reason"]
            if "error" in m:
                req.error = str(m["error"])
        resp.read()
        req.t_done = time.perf_counter()
        # Tokens: the server's own count when it sends usage, else one per text chunk.
        req.n_tokens = req.usage.get("completion_tokens", chunks) if req.usage else chunks

    def run(self, reqs, concurrency=None):
        """Closed loop with `concurrency` streams (open loop: one thread per request at its arrival)."""
        queue = collections.deque(sorted(reqs, key=lambda r: r.arrival))
        lock = threading.Lock()
        t0 = time.perf_counter()

        def connect():
            return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)

        def worker():
            conn, reused = connect(), False
            while True:
                with lock:
                    if not queue:
                        break
                    req = queue.popleft()
                if not concurrency:
                    delay = req.arrival - (time.perf_counter() - t0)
                    if delay > 0:
                        time.sleep(delay)
                try:
                    try:
                        self._one(conn, req)
                    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                        # A kept-alive connection the server closed while idle (llama-server
                        # does after a stream, without Connection: close): nothing was
                        # received, so one retry on a fresh connection, as HTTP clients do.
                        if not reused or req.t_first is not None:
                            raise
                        conn.close()
                        conn = connect()
                        self._one(conn, req)
                    reused = True
                except (OSError, http.client.HTTPException, ValueError) as e:
                    req.error = f"{type(e).__name__}: {e}"
                    conn.close()
                    conn, reused = connect(), False
            conn.close()

        n = concurrency or len(reqs)
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=self.timeout_s)
        return reqs, []
