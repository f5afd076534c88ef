"""Shared by tools/ia3/check_java_adapter.py and tools/ln_tuning/check_java_adapter.py (run with /work/pyenv/bin/python;
never needed by CI): loads adapters written by peft4j in HF PEFT and compares them with peft4j's own outputs.

Each ADAPTERS_DIR/<name> holds adapter_config.json + adapter_model.safetensors written by peft4j, expected.safetensors
(peft4j's output for the fixture batch) and base.txt (the base fixture's directory name under FIXTURES_DIR). Each is
loaded with PeftModel.from_pretrained; PEFT's state dict of the adapter must equal the file, and the outputs on the
fixture batch must match peft4j's. Exit status 1 if any max |diff| > 1e-4.
"""
import os
import sys

import torch
from peft import PeftModel
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoConfig, BertModel, LlamaForCausalLM


def check_java_adapters(fixtures, adapters):
    batch = load_file(os.path.join(fixtures, "batch.safetensors"))
    worst = 0.0
    for name in sorted(os.listdir(adapters)):
        d = os.path.join(adapters, name)
        with open(os.path.join(d, "base.txt")) as f:
            base_dir = os.path.join(fixtures, f.read().strip())
        cls = LlamaForCausalLM if AutoConfig.from_pretrained(base_dir).model_type == "llama" else BertModel
        with torch.no_grad():
            model = PeftModel.from_pretrained(cls.from_pretrained(base_dir).eval(), d).eval()
            state = get_peft_model_state_dict(model)
            file = load_file(os.path.join(d, "adapter_model.safetensors"))
            assert set(state) == set(file), (sorted(state), sorted(file))
            for k, v in file.items():
                assert torch.equal(state[k], v), k
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            expected = load_file(os.path.join(d, "expected.safetensors"))
            key = "logits" if "logits" in expected else "last_hidden_state"
            diff = (getattr(out, key) - expected[key]).abs().max().item()
            worst = max(worst, diff)
            print(f"{name}: {len(file)} tensors loaded by PEFT, max |diff| of {key} vs peft4j {diff:.3g}")
    sys.exit(1 if worst > 1e-4 else 0)
