#!/usr/bin/env python3
"""Fixtures for Loom's GGUF reader, made with gguf-py (the llama.cpp project's
own Python package), an implementation no one in Loom wrote.

  python3 tests/reference/make_gguf_fixtures.py [MODEL.gguf]

writes into tests/fixtures/gguf/:
  smollm2_metadata.json      every metadata key of the real SmolLM2 file as
                             GGUFReader reads it (scalars in full; arrays as
                             type, length, first and last 3 items) and every
                             tensor's name, type, shape, offset and size.
  gguf_py_synthetic.bin      a small GGUF written by GGUFWriter with every value
                             type, nested arrays and several tensor types
                             (named .bin because the repo ignores *.gguf).
  gguf_py_synthetic.json     the values that script handed GGUFWriter, and
                             the tensors' bytes as hex.
and seeds for the fuzzer into tests/fuzz/corpus/gguf/ (the synthetic file and
patched variants: v2, v1, truncated, bad magic, huge count, unknown type...).

Run with the pyenv python3 (it has `gguf`); needs numpy.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGUFReader, GGUFValueType, GGUFWriter, GGMLQuantizationType

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "fixtures" / "gguf"
DEFAULT_MODEL = Path.home() / ".cache/loom/SmolLM2-135M-Instruct.Q4_1.gguf"

TYPE_NAMES = {
    GGUFValueType.UINT8: "uint8", GGUFValueType.INT8: "int8",
    GGUFValueType.UINT16: "uint16", GGUFValueType.INT16: "int16",
    GGUFValueType.UINT32: "uint32", GGUFValueType.INT32: "int32",
    GGUFValueType.FLOAT32: "float32", GGUFValueType.BOOL: "bool",
    GGUFValueType.STRING: "string", GGUFValueType.ARRAY: "array",
    GGUFValueType.UINT64: "uint64", GGUFValueType.INT64: "int64",
    GGUFValueType.FLOAT64: "float64",
}


def gguf_version() -> str:
    from importlib.metadata import version
    return version("gguf")


def jsonable(x):
    """Floats as float (float32 values are exact in a double), bytes-safe strings."""
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    return float(x)


def field_record(field):
    main = field.types[0]
    if main != GGUFValueType.ARRAY:
        return {"type": TYPE_NAMES[main], "value": jsonable(field.contents())}
    elem = field.types[-1] if len(field.types) > 1 else None
    n = len(field.data)
    rec = {"type": "array", "elem_type": TYPE_NAMES[elem] if elem is not None else None,
           "length": n}
    if len(field.types) > 2:  # nested: gguf-py flattens them, record only the shape
        rec["nested"] = True
        return rec
    head = [jsonable(field.contents(i)) for i in range(min(3, n))]
    tail = [jsonable(field.contents(i)) for i in range(max(0, n - 3), n)]
    rec["first"] = head
    rec["last"] = tail
    return rec


def dump_model(model: Path) -> dict:
    r = GGUFReader(str(model))
    meta = {}
    for name, field in r.fields.items():
        if name.startswith("GGUF."):  # the reader's pseudo-fields for the header
            continue
        meta[name] = field_record(field)
    tensors = []
    for t in r.tensors:
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "type_id": int(t.tensor_type),
            "ne": [int(d) for d in t.shape],  # ggml order: ne[0] first
            "offset": int(t.data_offset - r.data_offset),
            "n_bytes": int(t.n_bytes),
        })
    return {
        "generator": "tests/reference/make_gguf_fixtures.py",
        "gguf_py_version": gguf_version(),
        "file": model.name,
        "file_size": model.stat().st_size,
        "version": int(r.fields["GGUF.version"].parts[-1][0]),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "key_order": list(meta.keys()),
        "metadata": meta,
        "tensors": tensors,
    }


def tensor_bytes(arr: np.ndarray) -> bytes:
    return np.ascontiguousarray(arr).tobytes()


def write_synthetic(path: Path) -> dict:
    """Every value type, nested and string arrays, tensors F32/F16/Q8_0/Q4_1/I32."""
    w = GGUFWriter(str(path), arch="synthetic")
    scalars = [
        ("s.u8", GGUFValueType.UINT8, 250), ("s.i8", GGUFValueType.INT8, -120),
        ("s.u16", GGUFValueType.UINT16, 65000), ("s.i16", GGUFValueType.INT16, -32000),
        ("s.u32", GGUFValueType.UINT32, 4294967295), ("s.i32", GGUFValueType.INT32, -2147483648),
        ("s.f32", GGUFValueType.FLOAT32, 0.1), ("s.bool", GGUFValueType.BOOL, True),
        ("s.string", GGUFValueType.STRING, "Loom \u00e9\u4e2d\U0001F600"),
        ("s.u64", GGUFValueType.UINT64, 18446744073709551615),
        ("s.i64", GGUFValueType.INT64, -9223372036854775808),
        ("s.f64", GGUFValueType.FLOAT64, 2.718281828459045),
    ]
    for key, vt, val in scalars:
        w.add_key_value(key, val, vt)
    arrays = [
        ("a.i32", GGUFValueType.INT32, [-3, 0, 7, 2147483647]),
        ("a.f32", GGUFValueType.FLOAT32, [0.5, -1.25, 3e-7]),
        ("a.u8", GGUFValueType.UINT8, [0, 128, 255]),
        ("a.bool", GGUFValueType.BOOL, [True, False, True]),
        ("a.f64", GGUFValueType.FLOAT64, [1e-300, -2.5]),
        ("a.i64", GGUFValueType.INT64, [-(2**62), 5]),
        ("a.string", GGUFValueType.STRING, ["<s>", "", "h\u00e9llo", "\u0120the"]),
    ]
    for key, vt, val in arrays:
        w.add_key_value(key, val, GGUFValueType.ARRAY, sub_type=vt)
    nested = [[1, 2, 3], [4], [5, 6]]  # every int is written as int32 by gguf-py
    w.add_key_value("a.nested", nested, GGUFValueType.ARRAY)

    rng = np.random.default_rng(7)
    tensors = {
        "t.f32": (np.arange(12, dtype=np.float32).reshape(3, 4) / 8, None),
        "t.f16": (rng.standard_normal(16).astype(np.float16), None),
        "t.i32": (np.array([1, -2, 3, -4], dtype=np.int32), None),
        # Quantized tensors as raw bytes; the shape is in elements (numpy order).
        "t.q8_0": (rng.integers(0, 256, 2 * 34, dtype=np.uint8).reshape(2, 34),
                   GGMLQuantizationType.Q8_0),
        "t.q4_1": (rng.integers(0, 256, 3 * 2 * 20, dtype=np.uint8).reshape(3, 40),
                   GGMLQuantizationType.Q4_1),
    }
    for name, (arr, qtype) in tensors.items():
        if qtype is None:
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    def val_json(vt, v):
        if vt == GGUFValueType.FLOAT32:
            return float(np.float32(v))
        return v
    # Shapes as the reader should report them, in ggml order (ne[0] first).
    ne = {"t.f32": [4, 3], "t.f16": [16], "t.i32": [4], "t.q8_0": [32, 2], "t.q4_1": [64, 3]}
    return {
        "generator": "tests/reference/make_gguf_fixtures.py",
        "gguf_py_version": gguf_version(),
        "scalars": [{"key": k, "type": TYPE_NAMES[vt], "value": val_json(vt, v)}
                    for k, vt, v in scalars],
        "arrays": [{"key": k, "elem_type": TYPE_NAMES[vt], "values": [val_json(vt, x) for x in v]}
                   for k, vt, v in arrays],
        "nested": {"key": "a.nested", "elem_type": "int32", "values": nested},
        "tensors": [{"name": n, "type": (q.name if q is not None else
                                         {np.float32: "F32", np.float16: "F16",
                                          np.int32: "I32"}[a.dtype.type]),
                     "ne": ne[n], "hex": tensor_bytes(a).hex()}
                    for n, (a, q) in tensors.items()],
    }


def patch_tensor_field(data: bytearray, name: str, field: str, value: int) -> None:
    """Overwrites a tensor info's n_dims, type or offset (found after its name)."""
    enc = name.encode()
    pos = data.index(len(enc).to_bytes(8, "little") + enc) + 8 + len(enc)
    n_dims = int.from_bytes(data[pos:pos + 4], "little")
    at = {"n_dims": (pos, 4), "type": (pos + 4 + 8 * n_dims, 4),
          "offset": (pos + 8 + 8 * n_dims, 8)}[field]
    data[at[0]:at[0] + at[1]] = value.to_bytes(at[1], "little")


def write_fuzz_seeds(synthetic: Path) -> None:
    """A few valid and invalid seeds for tests/fuzz/corpus/gguf."""
    seeds = HERE.parent / "fuzz" / "corpus" / "gguf"
    seeds.mkdir(parents=True, exist_ok=True)
    good = synthetic.read_bytes()
    variants = {"valid_v3": bytearray(good)}
    v2 = bytearray(good); v2[4:8] = (2).to_bytes(4, "little"); variants["valid_v2"] = v2
    v1 = bytearray(good); v1[4:8] = (1).to_bytes(4, "little"); variants["bad_version1"] = v1
    variants["truncated"] = bytearray(good[:700])
    magic = bytearray(good); magic[0:4] = b"GGUX"; variants["bad_magic"] = magic
    kv = bytearray(good); kv[16:24] = (1 << 62).to_bytes(8, "little"); variants["huge_kv_count"] = kv
    ty = bytearray(good); patch_tensor_field(ty, "t.f32", "type", 99); variants["unknown_type"] = ty
    off = bytearray(good); patch_tensor_field(off, "t.f16", "offset", 65); variants["misaligned"] = off
    dims = bytearray(good); patch_tensor_field(dims, "t.i32", "n_dims", 5); variants["n_dims_5"] = dims
    variants["header_only"] = bytearray(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    for name, data in variants.items():
        (seeds / name).write_bytes(bytes(data))
    print(f"wrote {len(variants)} fuzz seeds into {seeds}")


def main():
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL
    OUT.mkdir(parents=True, exist_ok=True)
    if model.exists():
        data = dump_model(model)
        (OUT / "smollm2_metadata.json").write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n")
        print(f"wrote smollm2_metadata.json ({len(data['tensors'])} tensors)")
    else:
        print(f"skipping smollm2_metadata.json: {model} missing (scripts/fetch_model.sh)")
    synthetic = OUT / "gguf_py_synthetic.bin"
    expected = write_synthetic(synthetic)
    (OUT / "gguf_py_synthetic.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {synthetic.name} ({os.path.getsize(synthetic)} bytes)")
    write_fuzz_seeds(synthetic)


if __name__ == "__main__":
    main()
