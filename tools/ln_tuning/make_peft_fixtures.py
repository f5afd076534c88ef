#!/usr/bin/env python
"""Makes the HF PEFT LN_TUNING fixtures under adapters/src/test/resources/ln-tuning-fixtures/
(run with /work/pyenv/bin/python; made with torch 2.7.1, peft 0.21.2).

  batch.safetensors        input_ids, attention_mask (int64 [2, 7], second row right-padded)
  base-bert/               BertModel (hidden 16, 2 layers); PEFT has no LN_TUNING default for bert
  bert-ln-tuning/          LN_TUNING target_modules ["LayerNorm"]             expected: last_hidden_state [2, 7, 16]
  base-llama/              LlamaForCausalLM (RMSNorm: weights only)
  llama-ln-tuning/         LN_TUNING with PEFT's llama default (input_layernorm, post_attention_layernorm, norm)
                           expected: logits [2, 7, 50]

The trained tensors (PEFT's copies under ln_tuning_layers) are perturbed randomly before saving.

Usage: make_peft_fixtures.py [--out DIR]
"""
import json
import os
import sys

import torch
from peft import LNTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters", "src", "test", "resources", "ln-tuning-fixtures")
if "--out" in sys.argv:
    OUT = sys.argv[sys.argv.index("--out") + 1]

IDS = torch.tensor([[2, 7, 9, 13, 21, 4, 3], [2, 11, 5, 3, 0, 0, 0]], dtype=torch.long)
MASK = (IDS != 0).long()


def save_base(model, name):
    d = os.path.join(OUT, name)
    model.save_pretrained(d, safe_serialization=True)
    p = os.path.join(d, "generation_config.json")
    if os.path.exists(p):
        os.remove(p)


def save_adapter(peft_model, name, expected):
    d = os.path.join(OUT, name)
    peft_model.save_pretrained(d, safe_serialization=True)
    readme = os.path.join(d, "README.md")
    if os.path.exists(readme):
        os.remove(readme)
    config_file = os.path.join(d, "adapter_config.json")
    with open(config_file) as f:
        config = json.load(f)
    if config.get("base_model_name_or_path"):
        config["base_model_name_or_path"] = os.path.basename(os.path.normpath(config["base_model_name_or_path"]))
    with open(config_file, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    save_file({k: v.detach().contiguous() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))


def perturb(model, gen):
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.requires_grad:
                p.add_(0.3 * torch.randn(p.shape, generator=gen))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1)
    save_file({"input_ids": IDS, "attention_mask": MASK}, os.path.join(OUT, "batch.safetensors"))
    with torch.no_grad():
        torch.manual_seed(0)
        cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                         max_position_embeddings=32, type_vocab_size=2)
        save_base(BertModel(cfg, add_pooling_layer=True).eval(), "base-bert")
        base = BertModel.from_pretrained(os.path.join(OUT, "base-bert")).eval()
        pm = get_peft_model(base, LNTuningConfig(task_type="FEATURE_EXTRACTION", target_modules=["LayerNorm"])).eval()
        print("bert-ln-tuning trainable", pm.get_nb_trainable_parameters())
        perturb(pm, gen)
        out = pm(input_ids=IDS, attention_mask=MASK).last_hidden_state
        save_adapter(pm, "bert-ln-tuning", {"last_hidden_state": out})

        torch.manual_seed(2)
        lcfg = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True, initializer_range=0.4)
        save_base(LlamaForCausalLM(lcfg).eval(), "base-llama")
        base = LlamaForCausalLM.from_pretrained(os.path.join(OUT, "base-llama")).eval()
        pm = get_peft_model(base, LNTuningConfig(task_type="CAUSAL_LM")).eval()
        print("llama-ln-tuning trainable", pm.get_nb_trainable_parameters(), sorted(pm.peft_config["default"].target_modules))
        perturb(pm, gen)
        logits = pm(input_ids=IDS, attention_mask=MASK).logits
        save_adapter(pm, "llama-ln-tuning", {"logits": logits})


if __name__ == "__main__":
    main()
