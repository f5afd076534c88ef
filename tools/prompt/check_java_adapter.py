#!/usr/bin/env python
"""Checks prefix/prompt adapters written by peft4j in HF PEFT (run with /work/pyenv/bin/python; never needed by CI).

  check_java_adapter.py [ADAPTERS_DIR]     (default: adapters/target/java-prompt-adapters)

PeftPromptInteropTest.writesAdaptersForThePeftCheck writes each ADAPTERS_DIR/NAME: adapter_config.json +
adapter_model.safetensors (peft4j's PeftPromptFiles), expected.safetensors (peft4j's output for the fixture batch:
last_hidden_state for BERT, logits for decoders) and base.txt (the base fixture under prompt-fixtures/). This loads
the base with transformers and the adapter with PeftModel.from_pretrained and compares (BERT prefix: the way PEFT's
prefix path calls BertModel, see make_peft_fixtures.py). Exit status 1 if any max |diff| > 1e-4.
"""
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoConfig, BertModel, DynamicCache, GPT2LMHeadModel, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "adapters", "src", "test", "resources", "prompt-fixtures")
CLASSES = {"bert": BertModel, "llama": LlamaForCausalLM, "gpt2": GPT2LMHeadModel}


def check(adapter):
    with open(os.path.join(adapter, "base.txt")) as f:
        base_dir = os.path.join(FIXTURES, f.read().strip())
    cls = CLASSES[AutoConfig.from_pretrained(base_dir).model_type]
    batch = load_file(os.path.join(FIXTURES, "batch.safetensors"))
    ids, mask = batch["input_ids"], batch["attention_mask"]
    base = cls.from_pretrained(base_dir).eval()
    pm = PeftModel.from_pretrained(base, adapter).eval()
    expected = load_file(os.path.join(adapter, "expected.safetensors"))
    with torch.no_grad():
        if "logits" in expected:
            actual, want = pm(input_ids=ids, attention_mask=mask).logits, expected["logits"]
        elif pm.peft_config["default"].peft_type == "PREFIX_TUNING":
            p = pm.peft_config["default"].num_virtual_tokens
            cache = pm.get_prompt(batch_size=ids.shape[0])
            if not isinstance(cache, DynamicCache):
                cache = DynamicCache.from_legacy_cache(cache)
            full_mask = torch.cat([torch.ones(ids.shape[0], p, dtype=torch.long), mask], dim=1)
            actual, want = base(input_ids=ids, attention_mask=full_mask, cache=cache).last_hidden_state, expected["last_hidden_state"]
        else:
            actual, want = pm(input_ids=ids, attention_mask=mask).last_hidden_state, expected["last_hidden_state"]
    diff = (actual - want).abs().max().item()
    print(f"{os.path.basename(adapter)}: {pm.peft_config['default'].peft_type} max |peft - peft4j| = {diff:.3g}")
    return diff


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "adapters", "target", "java-prompt-adapters")
    worst = max(check(os.path.join(root, name)) for name in sorted(os.listdir(root)))
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
