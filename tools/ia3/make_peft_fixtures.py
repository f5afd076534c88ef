#!/usr/bin/env python
"""Makes the HF PEFT IA3 fixtures under adapters/src/test/resources/ia3-fixtures/
(run with /work/pyenv/bin/python; made with torch 2.7.1, peft 0.21.2).

Tiny random bases saved as HF directories (safetensors), IA3 adapters with PEFT's default targets for the
model type, saved by PEFT's save_pretrained after random perturbation of the ia3_l vectors (fresh ones are
all ones, the identity), and the expected outputs for a fixed batch. The Java test PeftIa3InteropTest loads
base + adapter and must match.

  batch.safetensors   input_ids, attention_mask (int64 [2, 7], second row right-padded)
  base-bert/          BertModel (hidden 16, 2 layers, intermediate 24)
  bert-ia3/           IA3 defaults (key, value, output.dense; feed-forward output.dense)
                      expected.safetensors: last_hidden_state [2, 7, 16], merged_last_hidden_state (merge_and_unload)
  base-llama/         LlamaForCausalLM, GQA (4 heads, 2 kv heads), tied embeddings
  llama-ia3/          IA3 defaults (k_proj, v_proj, down_proj; feed-forward down_proj), expected: logits [2, 7, 50]

Usage: make_peft_fixtures.py [--out DIR]
"""
import json
import os
import sys

import torch
from peft import IA3Config, get_peft_model
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "adapters", "src", "test", "resources", "ia3-fixtures")
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
        pm = get_peft_model(base, IA3Config(task_type="FEATURE_EXTRACTION")).eval()
        print("bert-ia3 trainable", pm.get_nb_trainable_parameters(), "targets", sorted(pm.peft_config["default"].target_modules))
        perturb(pm, gen)
        out = pm(input_ids=IDS, attention_mask=MASK).last_hidden_state
        merged = pm.merge_and_unload()(input_ids=IDS, attention_mask=MASK).last_hidden_state
        print("bert-ia3 merged vs unmerged", (out - merged).abs().max().item())
        # save from a fresh copy (merge_and_unload changed pm's base)
        base = BertModel.from_pretrained(os.path.join(OUT, "base-bert")).eval()
        pm2 = get_peft_model(base, IA3Config(task_type="FEATURE_EXTRACTION")).eval()
        gen2 = torch.Generator().manual_seed(1)
        perturb(pm2, gen2)
        assert (pm2(input_ids=IDS, attention_mask=MASK).last_hidden_state - out).abs().max().item() == 0
        save_adapter(pm2, "bert-ia3", {"last_hidden_state": out, "merged_last_hidden_state": merged})

        torch.manual_seed(2)
        lcfg = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True, initializer_range=0.4)
        save_base(LlamaForCausalLM(lcfg).eval(), "base-llama")
        base = LlamaForCausalLM.from_pretrained(os.path.join(OUT, "base-llama")).eval()
        pm = get_peft_model(base, IA3Config(task_type="CAUSAL_LM")).eval()
        print("llama-ia3 trainable", pm.get_nb_trainable_parameters())
        perturb(pm, gen)
        logits = pm(input_ids=IDS, attention_mask=MASK).logits
        save_adapter(pm, "llama-ia3", {"logits": logits})


if __name__ == "__main__":
    main()
