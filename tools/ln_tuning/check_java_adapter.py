#!/usr/bin/env python
"""Checks LN_TUNING adapters written by peft4j in HF PEFT (run with /work/pyenv/bin/python; never needed by CI).

  check_java_adapter.py [ADAPTERS_DIR]     (default: adapters/target/java-ln-tuning-adapters)

PeftLayerNormTuningInteropTest.writesAdaptersForThePeftCheck leaves ADAPTERS_DIR/java-*-ln-tuning: adapter_config.json +
adapter_model.safetensors written by peft4j's LayerNormTuningModel.save, expected.safetensors (peft4j's output for the fixture
batch) and base.txt (the base fixture under ln-tuning-fixtures/). This script loads each with PeftModel.from_pretrained,
checks that PEFT's state dict of the adapter equals the file, and compares outputs. Exit status 1 if any
max |diff| > 1e-4.
"""
import os
import sys

import torch
from peft import PeftModel
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoConfig, BertModel, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "adapters", "src", "test", "resources", "ln-tuning-fixtures")
ADAPTERS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "adapters", "target", "java-ln-tuning-adapters")


def main():
    batch = load_file(os.path.join(FIXTURES, "batch.safetensors"))
    worst = 0.0
    for name in sorted(os.listdir(ADAPTERS)):
        d = os.path.join(ADAPTERS, name)
        with open(os.path.join(d, "base.txt")) as f:
            base_dir = os.path.join(FIXTURES, f.read().strip())
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


if __name__ == "__main__":
    main()
