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
import os
import sys

import torch
from peft import LNTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import BertModel, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peft_fixtures import IDS, MASK, FixtureWriter, out_dir, perturb, tiny_bert_config, tiny_llama_config  # noqa: E402

W = FixtureWriter(out_dir("adapters", "src", "test", "resources", "ln-tuning-fixtures"))


def main():
    gen = torch.Generator().manual_seed(1)
    save_file({"input_ids": IDS, "attention_mask": MASK}, W.path("batch.safetensors"))
    with torch.no_grad():
        torch.manual_seed(0)
        cfg = tiny_bert_config()
        W.save_base(BertModel(cfg, add_pooling_layer=True).eval(), "base-bert")
        base = BertModel.from_pretrained(W.path("base-bert")).eval()
        pm = get_peft_model(base, LNTuningConfig(task_type="FEATURE_EXTRACTION", target_modules=["LayerNorm"])).eval()
        print("bert-ln-tuning trainable", pm.get_nb_trainable_parameters())
        perturb(pm, gen)
        out = pm(input_ids=IDS, attention_mask=MASK).last_hidden_state
        W.save_adapter(pm, "bert-ln-tuning", {"last_hidden_state": out})

        torch.manual_seed(2)
        lcfg = tiny_llama_config()
        W.save_base(LlamaForCausalLM(lcfg).eval(), "base-llama")
        base = LlamaForCausalLM.from_pretrained(W.path("base-llama")).eval()
        pm = get_peft_model(base, LNTuningConfig(task_type="CAUSAL_LM")).eval()
        print("llama-ln-tuning trainable", pm.get_nb_trainable_parameters(), sorted(pm.peft_config["default"].target_modules))
        perturb(pm, gen)
        logits = pm(input_ids=IDS, attention_mask=MASK).logits
        W.save_adapter(pm, "llama-ln-tuning", {"logits": logits})


if __name__ == "__main__":
    main()
