#!/usr/bin/env python3
"""A Python host for a Loom backend plugin through ctypes (standard library only).

    python3 python_host.py --backend build/lib/libloom_cpu.so --model m.gguf [--prompt "..."]

The ctypes structures mirror plugin_api/include/loom/plugin.h (ABI 1.0). The
ABI is append-only, so a host that knows fewer fields than the plugin still
works: it sets struct_size to the size it knows.
--check turns the run into a self-test (used by tests/plugin): it verifies
one terminal event, the tokenizer round trip and the stats JSON, and exits 1
on any failure.
"""
import argparse
import ctypes as C
import json
import signal
import sys
import threading

ABI_MAJOR = 1
EVENT_DELTA, EVENT_DONE, EVENT_ERROR = 0, 1, 2
FINISH_NAMES = {0: "stop", 1: "length", 2: "cancelled", 3: "deadline"}


class Str(C.Structure):
    _fields_ = [("data", C.c_char_p), ("size", C.c_size_t)]


def make_str(b):
    return Str(b, len(b))


def read_str(s):
    return C.string_at(s.data, s.size) if s.size else b""


class Tokens(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("ids", C.POINTER(C.c_int32)), ("count", C.c_size_t)]


class Text(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("data", C.c_char_p), ("size", C.c_size_t)]


class ProbeInfo(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("device", C.c_char * 128), ("hardware_threads", C.c_int32),
                ("memory_available_bytes", C.c_int64)]


class JobRequest(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("id", Str), ("prompt_kind", C.c_int32), ("prompt_text", Str),
                ("prompt_tokens", C.POINTER(C.c_int32)), ("n_prompt_tokens", C.c_size_t),
                ("messages", C.c_void_p), ("n_messages", C.c_size_t), ("max_tokens", C.c_int32),
                ("temperature", C.c_float), ("top_p", C.c_float), ("top_k", C.c_int32), ("min_p", C.c_float),
                ("repetition_penalty", C.c_float), ("presence_penalty", C.c_float),
                ("frequency_penalty", C.c_float), ("has_seed", C.c_int32), ("seed", C.c_uint64),
                ("stop", C.POINTER(Str)), ("n_stop", C.c_size_t), ("stop_token_ids", C.POINTER(C.c_int32)),
                ("n_stop_token_ids", C.c_size_t), ("ignore_eos", C.c_int32), ("logprobs", C.c_int32),
                ("priority", C.c_int32), ("deadline_ms", C.c_int64), ("stream", C.c_int32)]


class JobEvent(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("kind", C.c_int32), ("id", Str), ("text", Str),
                ("token_ids", C.POINTER(C.c_int32)), ("n_token_ids", C.c_size_t),
                ("logprobs", C.POINTER(C.c_float)), ("n_top", C.c_size_t), ("top_ids", C.POINTER(C.c_int32)),
                ("top_logprobs", C.POINTER(C.c_float)), ("finish_reason", C.c_int32),
                ("prompt_tokens", C.c_int32), ("completion_tokens", C.c_int32), ("cached_tokens", C.c_int32),
                ("queue_ms", C.c_double), ("ttft_ms", C.c_double), ("total_ms", C.c_double),
                ("error_code", C.c_int32), ("error_name", Str), ("message", Str)]


Err = C.c_void_p
Backend = C.c_void_p
Callback = C.CFUNCTYPE(None, C.c_void_p, C.POINTER(JobEvent))


class Api(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("abi_major", C.c_uint32), ("abi_minor", C.c_uint32),
                ("backend_name", C.c_char_p), ("build_info", C.c_char_p),
                ("error_code", C.CFUNCTYPE(C.c_int32, Err)), ("error_message", C.CFUNCTYPE(C.c_char_p, Err)),
                ("error_free", C.CFUNCTYPE(None, Err)), ("probe", C.CFUNCTYPE(Err, C.POINTER(ProbeInfo))),
                ("create", C.CFUNCTYPE(Err, C.c_char_p, C.c_size_t, C.POINTER(Backend))),
                ("start", C.CFUNCTYPE(Err, Backend)), ("drain", C.CFUNCTYPE(Err, Backend, C.c_int64)),
                ("destroy", C.CFUNCTYPE(None, Backend)),
                ("submit", C.CFUNCTYPE(Err, Backend, C.POINTER(JobRequest), Callback, C.c_void_p)),
                ("cancel", C.CFUNCTYPE(Err, Backend, C.c_char_p, C.c_size_t)),
                ("tokenize", C.CFUNCTYPE(Err, Backend, C.c_char_p, C.c_size_t, C.c_int32, C.c_int32,
                                         C.POINTER(C.POINTER(Tokens)))),
                ("tokens_free", C.CFUNCTYPE(None, C.POINTER(Tokens))),
                ("detokenize", C.CFUNCTYPE(Err, Backend, C.POINTER(C.c_int32), C.c_size_t,
                                           C.POINTER(C.POINTER(Text)))),
                ("text_free", C.CFUNCTYPE(None, C.POINTER(Text))),
                ("stats", C.CFUNCTYPE(Err, Backend, C.POINTER(C.POINTER(Text))))]


class LoomError(RuntimeError):
    pass


class Plugin:
    def __init__(self, path):
        self.lib = C.CDLL(path, mode=C.RTLD_LOCAL)
        entry = self.lib.loom_plugin_get_api
        entry.restype, entry.argtypes = C.POINTER(Api), [C.c_uint32]
        table = entry(ABI_MAJOR)
        if not table or table.contents.abi_major != ABI_MAJOR:
            raise LoomError(f"{path}: not a Loom ABI {ABI_MAJOR} plugin")
        if table.contents.struct_size < C.sizeof(Api):
            raise LoomError(f"{path}: plugin table smaller than this host's v1.0 view")
        self.api = table.contents

    def check(self, err):
        if err:
            code, msg = self.api.error_code(err), self.api.error_message(err).decode()
            self.api.error_free(err)
            raise LoomError(f"error {code}: {msg}")

    def probe(self):
        info = ProbeInfo(struct_size=C.sizeof(ProbeInfo))
        self.check(self.api.probe(C.byref(info)))
        return info.device.decode()

    def create(self, config):
        raw = json.dumps(config).encode()
        handle = Backend()
        self.check(self.api.create(raw, len(raw), C.byref(handle)))
        return handle

    def tokenize(self, backend, text):
        out = C.POINTER(Tokens)()
        raw = text.encode()
        self.check(self.api.tokenize(backend, raw, len(raw), 0, 0, C.byref(out)))
        ids = [out.contents.ids[i] for i in range(out.contents.count)]
        self.api.tokens_free(out)
        return ids

    def take_text(self, out):
        text = C.string_at(out.contents.data, out.contents.size).decode()
        self.api.text_free(out)
        return text

    def detokenize(self, backend, ids):
        arr = (C.c_int32 * len(ids))(*ids)
        out = C.POINTER(Text)()
        self.check(self.api.detokenize(backend, arr, len(ids), C.byref(out)))
        return self.take_text(out)

    def stats(self, backend):
        out = C.POINTER(Text)()
        self.check(self.api.stats(backend, C.byref(out)))
        return json.loads(self.take_text(out))


def generate(plugin, backend, prompt, max_tokens):
    """Runs one greedy job in-process; returns (text, ids, terminal events)."""
    done = threading.Event()
    pieces, ids, terminals = [], [], []

    def on_event(_user, ev_ptr):  # the backend's output thread; copy everything out now
        ev = ev_ptr.contents
        pieces.append(read_str(ev.text))
        ids.extend(ev.token_ids[i] for i in range(ev.n_token_ids))
        sys.stdout.write(read_str(ev.text).decode(errors="replace"))
        sys.stdout.flush()
        if ev.kind != EVENT_DELTA:
            terminals.append((ev.kind, FINISH_NAMES.get(ev.finish_reason), read_str(ev.message).decode()))
            done.set()

    callback = Callback(on_event)  # keep a reference until the terminal event
    job_id, text = b"py-1", prompt.encode()
    req = JobRequest(struct_size=C.sizeof(JobRequest), id=make_str(job_id), prompt_kind=0,
                     prompt_text=make_str(text), max_tokens=max_tokens, temperature=0.0, top_p=1.0,
                     repetition_penalty=1.0, stream=1)
    plugin.check(plugin.api.submit(backend, C.byref(req), callback, None))
    done.wait()
    print()
    return b"".join(pieces).decode(), ids, terminals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", default="The capital of France is")
    ap.add_argument("--max-tokens", type=int, default=12)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    # Block the stop signals before the plugin starts threads (they inherit
    # the mask), so that only the sigwait below receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    plugin = Plugin(args.backend)
    print(f"plugin {plugin.api.backend_name.decode()} ABI {plugin.api.abi_major}.{plugin.api.abi_minor}")
    print("probe:", plugin.probe())
    config = {"model": args.model, "kv_cache_bytes": 100_000_000, "max_context": 1024}
    backend = plugin.create(config)
    failures = []
    try:
        plugin.check(plugin.api.start(backend))
        text, ids, terminals = generate(plugin, backend, args.prompt, args.max_tokens)
        stats = plugin.stats(backend)
        print("stats:", json.dumps(stats)[:200], "...")
        if len(terminals) != 1 or terminals[0][0] != EVENT_DONE:
            failures.append(f"expected one done event, got {terminals}")
        if len(ids) != args.max_tokens:
            failures.append(f"expected {args.max_tokens} tokens, got {len(ids)}")
        if plugin.detokenize(backend, ids) != text:
            failures.append("detokenize(streamed ids) differs from the streamed text")
        if plugin.detokenize(backend, plugin.tokenize(backend, args.prompt)) != args.prompt:
            failures.append("tokenize/detokenize round trip changed the prompt")
        if stats.get("jobs_finished", 0) < 1:
            failures.append(f"stats say no job finished: {stats}")
    finally:
        plugin.check(plugin.api.drain(backend, 30000))
        plugin.api.destroy(backend)
    if args.check:
        for f in failures:
            print("FAIL:", f)
        print("check:", "FAILED" if failures else "ok")
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
