"""Writes models/src/test/resources/safetensors/golden.safetensors with HuggingFace's safetensors
library, for SafetensorsGoldenTest. Run from the repo root:

    /work/pyenv/bin/python tools/safetensors/make_golden.py

Values are small exact numbers so the Java test can list them literally.
"""
import torch
from safetensors.torch import save_file

tensors = {
    "f32": torch.tensor([[1.5, -2.25, 0.0], [3.0e-3, 1.0e30, -7.0]], dtype=torch.float32),
    "f16": torch.tensor([0.5, -1.0, 65504.0, 6.103515625e-05], dtype=torch.float16),
    # bf16 keeps 8 mantissa bits: these are exactly representable.
    "bf16": torch.tensor([[1.0, -2.5], [3.140625, 1.0e-3]], dtype=torch.bfloat16),
    "i64": torch.tensor([0, -1, 2**40, -(2**62)], dtype=torch.int64),
    "i32": torch.tensor([[7, -8], [2147483647, -2147483648]], dtype=torch.int32),
    "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True], dtype=torch.bool),
    "f64": torch.tensor([0.1, -2.5], dtype=torch.float64),
    "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
    "scalar": torch.tensor(42.0, dtype=torch.float32),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
}
out = "models/src/test/resources/safetensors/golden.safetensors"
save_file(tensors, out, metadata={"format": "pt", "source": "make_golden.py"})
print("wrote", out)
for k, v in tensors.items():
    print(k, v.dtype, list(v.shape), v.float().flatten().tolist() if v.numel() else [])
