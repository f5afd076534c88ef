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
import os
import sys

import torch
from peft import IA3Config, get_peft_model
from safetensors.torch import save_file
from transformers import BertModel, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peft_fixtures import IDS, MASK, FixtureWriter, out_dir, perturb, tiny_bert_config, tiny_llama_config  # noqa: E402

W = FixtureWriter(out_dir("adapters", "src", "test", "resources", "ia3-fixtures"))


def main():
    gen = torch.Generator().manual_seed(1)
    save_file({"input_ids": IDS, "attention_mask": MASK}, W.path("batch.safetensors"))
    with torch.no_grad():
        torch.manual_seed(0)
        cfg = tiny_bert_config()
        W.save_base(BertModel(cfg, add_pooling_layer=True).eval(), "base-bert")
        base = BertModel.from_pretrained(W.path("base-bert")).eval()
        pm = get_peft_model(base, IA3Config(task_type="FEATURE_EXTRACTION")).eval()
        print("bert-ia3 trainable", pm.get_nb_trainable_parameters(), "targets", sorted(pm.peft_config["default"].target_modules))
        perturb(pm, gen)
        out = pm(input_ids=IDS, attention_mask=MASK).last_hidden_state
        merged = pm.merge_and_unload()(input_ids=IDS, attention_mask=MASK).last_hidden_state
        print("bert-ia3 merged vs unmerged", (out - merged).abs().max().item())
        # save from a fresh copy (merge_and_unload changed pm's base)
        base = BertModel.from_pretrained(W.path("base-bert")).eval()
        pm2 = get_peft_model(base, IA3Config(task_type="FEATURE_EXTRACTION")).eval()
        gen2 = torch.Generator().manual_seed(1)
        perturb(pm2, gen2)
        assert (pm2(input_ids=IDS, attention_mask=MASK).last_hidden_state - out).abs().max().item() == 0
        W.save_adapter(pm2, "bert-ia3", {"last_hidden_state": out, "merged_last_hidden_state": merged})

        torch.manual_seed(2)
        lcfg = tiny_llama_config()
        W.save_base(LlamaForCausalLM(lcfg).eval(), "base-llama")
        base = LlamaForCausalLM.from_pretrained(W.path("base-llama")).eval()
        pm = get_peft_model(base, IA3Config(task_type="CAUSAL_LM")).eval()
        print("llama-ia3 trainable", pm.get_nb_trainable_parameters())
        perturb(pm, gen)
        logits = pm(input_ids=IDS, attention_mask=MASK).logits
        W.save_adapter(pm, "llama-ia3", {"logits": logits})


if __name__ == "__main__":
    main()
