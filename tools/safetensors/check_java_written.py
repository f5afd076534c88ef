"""Checks that HuggingFace's safetensors library reads files written by peft4j's SafetensorsWriter,
with exact values. Run from the repo root:

    mvn -B -o -q -pl models -am test -Dtest=SafetensorsRoundTripTest \
        -Dpeft4j.safetensors.pythonCheckDir=/tmp/st-check
    /work/pyenv/bin/python tools/safetensors/check_java_written.py /tmp/st-check
"""
import json
import struct
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

d = sys.argv[1]

expected = {
    "f32": torch.tensor([[1.5, -2.25, 0.1], [1e30, -7.0, 0.0]], dtype=torch.float32),
    "f16": torch.tensor([1.0, -2.0, 2.0 ** -24, 65504.0], dtype=torch.float16),
    "f64": torch.tensor([3.141592653589793, -1e300], dtype=torch.float64),
    "i64": torch.tensor([-(2 ** 63), 2 ** 63 - 1, 0], dtype=torch.int64),
    "i32": torch.tensor([[7, -8], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32),
    "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "scalar": torch.tensor(42.0),
    "empty": torch.zeros((0, 3)),
}
expected_raw = {
    "bf16": torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16),
    "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
}

failures = 0
for name, exp in [("java_written.safetensors", expected), ("java_written_raw.safetensors", expected_raw)]:
    path = f"{d}/{name}"
    with open(path, "rb") as fh:
        raw = fh.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    assert (8 + n) % 8 == 0, f"{name}: header not 8-byte aligned"
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        assert meta == {"format": "pt", "writer": "peft4j"}, meta
        assert list(f.keys()) == sorted(exp), (list(f.keys()), sorted(exp))
    got = load_file(path)
    for k, v in exp.items():
        g = got[k]
        ok = g.dtype == v.dtype and g.shape == v.shape and torch.equal(g, v)
        print(f"{name} {k}: {g.dtype} {list(g.shape)} {'OK' if ok else 'MISMATCH ' + str(g)}")
        failures += not ok
    # tensor order in the header is the writer's order
    print(f"{name}: header order {[k for k in header if k != '__metadata__']}")
print("FAILED" if failures else "ALL OK: HF safetensors", __import__("safetensors").__version__, "reads peft4j's files exactly")
sys.exit(1 if failures else 0)
