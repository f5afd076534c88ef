#!/usr/bin/env python
"""Makes the HF PEFT interop fixtures under lora/src/test/resources/peft-fixtures/ (run with /work/pyenv/bin/python).

Two tiny random BERT bases saved as HF directories (safetensors), two adapters saved by PEFT's save_pretrained
with nonzero lora_B (init_lora_weights=False gives kaiming-uniform B, then small random perturbations), and the
expected outputs for a fixed batch. The Java test PeftInteropTest loads base + adapter and must match to 1e-4.

  base-bert/        BertModel (no pooler use), config + model.safetensors
  lora-qv/          LoRA r=4 alpha=8 on query,value (BertModel)           expected: last_hidden_state
  base-seqcls/      BertForSequenceClassification (3 labels)
  dora-rslora-cls/  DoRA + rsLoRA r=4 alpha=16 on query,value,attention.output.dense, modules_to_save classifier,
                    task SEQ_CLS                                          expected: logits
  batch.safetensors input_ids, attention_mask, token_type_ids (int64 [2, 7], second row padded)
"""
import json
import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, BertModel

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "lora", "src", "test", "resources", "peft-fixtures")


def tiny_config(**kw):
    return BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=24, max_position_embeddings=32, type_vocab_size=2,
                      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, **kw)


def batch():
    ids = torch.tensor([[2, 7, 9, 13, 21, 4, 3], [2, 11, 5, 3, 0, 0, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]], dtype=torch.long)
    return ids, mask, types


def perturb(model, gen):
    # make every adapter tensor clearly nonzero and not at its init value
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=gen))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(99)
    ids, mask, types = batch()
    save_file({"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
              os.path.join(OUT, "batch.safetensors"), metadata={"format": "pt"})

    # 1. LoRA r=4 on query,value of a BertModel
    base = BertModel(tiny_config(), add_pooling_layer=True).eval()
    base.save_pretrained(os.path.join(OUT, "base-bert"), safe_serialization=True)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], lora_dropout=0.1,
                     init_lora_weights=False)
    peft_model = get_peft_model(base, cfg)
    perturb(peft_model, gen)
    peft_model.eval()
    with torch.no_grad():
        out = peft_model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    peft_model.save_pretrained(os.path.join(OUT, "lora-qv"))
    save_file({"last_hidden_state": out.contiguous()}, os.path.join(OUT, "lora-qv", "expected.safetensors"),
              metadata={"format": "pt"})

    # 2. DoRA + rsLoRA with a classifier head saved alongside
    torch.manual_seed(4321)
    cls = BertForSequenceClassification(tiny_config(num_labels=3)).eval()
    cls.save_pretrained(os.path.join(OUT, "base-seqcls"), safe_serialization=True)
    cfg = LoraConfig(r=4, lora_alpha=16, target_modules=["query", "value", "attention.output.dense"],
                     use_dora=True, use_rslora=True, modules_to_save=["classifier"], task_type="SEQ_CLS",
                     init_lora_weights=False)
    peft_model = get_peft_model(cls, cfg)
    perturb(peft_model, gen)
    peft_model.eval()
    with torch.no_grad():
        logits = peft_model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    peft_model.save_pretrained(os.path.join(OUT, "dora-rslora-cls"))
    save_file({"logits": logits.contiguous()}, os.path.join(OUT, "dora-rslora-cls", "expected.safetensors"),
              metadata={"format": "pt"})

    for d in ("lora-qv", "dora-rslora-cls"):
        from safetensors import safe_open
        with safe_open(os.path.join(OUT, d, "adapter_model.safetensors"), "pt") as f:
            print(d, sorted(f.keys())[:6], "...", len(list(f.keys())), "tensors")
        # README.md written by PEFT is noise for a fixture
        readme = os.path.join(OUT, d, "README.md")
        if os.path.exists(readme):
            os.remove(readme)


if __name__ == "__main__":
    main()
