#!/usr/bin/env python
"""Checks adapters written by peft4j in HF PEFT (run with /work/pyenv/bin/python; never needed by CI).

  check_java_adapter.py ADAPTERS_DIR [NAME ...]

Each ADAPTERS_DIR/NAME holds adapter_config.json + adapter_model.safetensors written by peft4j's LoraModel.save
and expected.safetensors ("logits" as computed by peft4j) for the fixture batch, on the base model named in BASES
(peft-fixtures/base-seqcls, a BertForSequenceClassification, or base-gpt2, a GPT2LMHeadModel). The script loads
the base with transformers, the adapter with PeftModel.from_pretrained, checks that every tensor in the file was
loaded (PEFT's own state dict of the adapter equals the file), and compares logits. Exit status 1 if any
max |diff| > 1e-4. Default NAMEs: all of BASES.
"""
import os
import sys

import torch
try:  # some peft versions touch torch.distributed.tensor without importing it
    import torch.distributed.tensor  # noqa: F401
except ImportError:
    pass
from peft import PeftModel
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file
from transformers import BertForSequenceClassification, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "lora", "src", "test", "resources", "peft-fixtures")


# adapter name -> (HF class, base fixture, batch file)
BASES = {
    "java-lora": (BertForSequenceClassification, "base-seqcls", "batch.safetensors"),
    "java-dora": (BertForSequenceClassification, "base-seqcls", "batch.safetensors"),
    "java-gpt2": (GPT2LMHeadModel, "base-gpt2", "decoder-batch.safetensors"),
}


def check(adapters_dir, name):
    adapter = os.path.join(adapters_dir, name)
    cls, base_dir, batch_file = BASES[name]
    base = cls.from_pretrained(os.path.join(FIXTURES, base_dir)).eval()
    model = PeftModel.from_pretrained(base, adapter).eval()
    saved = load_file(os.path.join(adapter, "adapter_model.safetensors"))
    loaded = get_peft_model_state_dict(model)
    missing = sorted(set(saved) - set(loaded))
    extra = sorted(set(loaded) - set(saved))
    worst_tensor = max((saved[k] - loaded[k]).abs().max().item() for k in saved if k in loaded)
    batch = load_file(os.path.join(FIXTURES, batch_file))
    with torch.no_grad():
        logits = model(**batch).logits
    expected = load_file(os.path.join(adapter, "expected.safetensors"))["logits"]
    diff = (logits - expected).abs().max().item()
    with torch.no_grad():
        with model.disable_adapter():
            plain = model(**batch).logits
    effect = (plain - expected).abs().max().item()
    ok = not missing and not extra and worst_tensor == 0.0 and diff <= 1e-4 and effect > 1e-3
    print(f"{name}: {len(saved)} tensors, file keys not in PEFT's adapter state: {missing}, PEFT keys not in file: {extra}, "
          f"max |file - loaded| {worst_tensor:.3g}, max |logits diff| {diff:.3g} (adapter effect {effect:.3g}) "
          f"-> {'OK' if ok else 'FAIL'}")
    return ok


def main():
    adapters_dir = sys.argv[1] if len(sys.argv) > 1 else FIXTURES
    names = sys.argv[2:] or list(BASES)
    results = [check(adapters_dir, n) for n in names]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
