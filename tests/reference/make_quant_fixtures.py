#!/usr/bin/env python3
"""Writes tests/fixtures/quant/: random GGUF blocks and what gguf-py dequantizes them to.

The `gguf` package (PyPI, from the llama.cpp project) is an independent numpy
implementation of the formats, so tests/kernels/test_dequant.cpp checks
loom::dequantize_row against it. Run with a python3 that has numpy and gguf,
e.g. the reference venv with llama.cpp's own gguf-py:

    PYTHONPATH=~/.cache/loom/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py \
        ~/.cache/loom/ref-venv/bin/python tests/reference/make_quant_fixtures.py

Per type NAME: NAME.bin (raw blocks, as stored in a GGUF tensor) and NAME.f32
(the dequantized values, little-endian float32). manifest.json lists the
element counts and the gguf version. Deterministic (fixed seed).
"""
import json
import pathlib

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "quant"
rng = np.random.default_rng(20240601)


def halves(n, lo, hi):
    """n random float16 values in [lo, hi) as raw uint8 pairs."""
    return rng.uniform(lo, hi, n).astype(np.float16).view(np.uint8).reshape(n, 2)


def blocks(qtype, n_blocks):
    """Random block bytes with sane fp16 scales (random bits could be inf/NaN)."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = halves(n_blocks, -0.05, 0.05)  # d
    elif qtype == T.Q4_1:
        raw[:, 0:2] = halves(n_blocks, 0.0, 0.05)  # d
        raw[:, 2:4] = halves(n_blocks, -0.5, 0.5)  # m
    elif qtype in (T.Q4_K, T.Q5_K):
        raw[:, 0:2] = halves(n_blocks, 0.0, 0.01)  # d
        raw[:, 2:4] = halves(n_blocks, 0.0, 0.01)  # dmin
    elif qtype == T.Q6_K:
        raw[:, 208:210] = halves(n_blocks, -0.01, 0.01)  # d (last field)
    return raw.reshape(-1)


def gguf_version():
    """The installed package's version, or gguf-py's pyproject.toml one (PYTHONPATH checkout)."""
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        pass
    pyproject = pathlib.Path(gguf.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.exists():
        for line in pyproject.read_text().splitlines():
            if line.startswith("version = "):
                return line.split("=", 1)[1].strip().strip('"')
    return None


def write(name, qtype, raw, manifest):
    values = dequantize(raw, qtype).astype("<f4").reshape(-1)
    (OUT / f"{name}.bin").write_bytes(raw.tobytes())
    (OUT / f"{name}.f32").write_bytes(values.tobytes())
    manifest["types"][name] = {"elements": int(values.size), "bytes": int(raw.size)}
    return values


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"gguf_version": gguf_version(), "generator": "tests/reference/make_quant_fixtures.py",
                "types": {}}
    cases = {"Q4_0": (T.Q4_0, 9), "Q4_1": (T.Q4_1, 9), "Q8_0": (T.Q8_0, 9),
             "Q4_K": (T.Q4_K, 3), "Q5_K": (T.Q5_K, 3), "Q6_K": (T.Q6_K, 3)}
    for name, (qtype, n_blocks) in cases.items():
        values = write(name, qtype, blocks(qtype, n_blocks), manifest)
        assert np.all(np.isfinite(values)), name
    # Plain types: random values incl. a few specials, stored raw.
    f = rng.normal(0, 3, 253).astype(np.float32)
    f[:6] = [0.0, -0.0, 65504.0, 6e-8, -1e-5, 1e5]  # max half, subnormal half, overflow
    with np.errstate(over="ignore"):  # 1e5 -> inf in F16, on purpose
        plain = (
            ("F16", T.F16, f.astype(np.float16).view(np.uint8)),
            ("BF16", T.BF16, (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)),
        )
    for name, qtype, raw in plain:
        write(name, qtype, raw, manifest)
    # Types added later draw from the generator after the ones above, so
    # those fixtures keep their bytes. Q5_0: random blocks plus the extremes
    # (every quant -16: qh and qs zero; every quant +15: all bits set).
    q5 = blocks(T.Q5_0, 9).reshape(9, -1)
    q5[0, 2:] = 0x00
    q5[1, 2:] = 0xFF
    values = write("Q5_0", T.Q5_0, q5.reshape(-1), manifest)
    assert np.all(np.isfinite(values))
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {OUT}: {sorted(manifest['types'])}, gguf {manifest['gguf_version']}")


if __name__ == "__main__":
    main()
