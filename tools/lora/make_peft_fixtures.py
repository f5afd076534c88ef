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
  base-gpt2/        GPT2LMHeadModel (Conv1D weights [in, out]), decoder-batch.safetensors input_ids/attention_mask [2, 6]
  gpt2-dora-fifo/   DoRA r=2 alpha=4 on c_attn, c_proj, c_fc with fan_in_fan_out=True    expected: logits
  base-llama/       LlamaForCausalLM (GQA: 4 heads, 2 kv heads)
  llama-patterns/   LoRA r=4 on q,k,v,o,gate_proj of layer 1 only (layers_to_transform), rank_pattern k_proj=2,
                    alpha_pattern o_proj=16, bias=all                                   expected: logits

Usage: make_peft_fixtures.py [--out DIR] [--only bert|decoders]
"""
import json
import os
import sys

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                          LlamaForCausalLM)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lora", "src", "test", "resources", "peft-fixtures")


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


def strip_readme(d):
    # README.md written by PEFT is noise for a fixture
    readme = os.path.join(OUT, d, "README.md")
    if os.path.exists(readme):
        os.remove(readme)


def make_decoders():
    gen = torch.Generator().manual_seed(77)
    ids = torch.tensor([[5, 17, 33, 2, 9, 41], [12, 3, 60, 7, 7, 1]], dtype=torch.long)
    mask = torch.ones_like(ids)
    save_file({"input_ids": ids, "attention_mask": mask}, os.path.join(OUT, "decoder-batch.safetensors"),
              metadata={"format": "pt"})

    torch.manual_seed(2024)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=2, n_head=2, n_positions=16,
                                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)).eval()
    gpt2.save_pretrained(os.path.join(OUT, "base-gpt2"), safe_serialization=True)
    cfg = LoraConfig(r=2, lora_alpha=4, target_modules=["c_attn", "c_proj", "c_fc"], fan_in_fan_out=True,
                     use_dora=True, init_lora_weights=False, lora_dropout=0.05)
    model = get_peft_model(gpt2, cfg)
    perturb(model, gen)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    model.save_pretrained(os.path.join(OUT, "gpt2-dora-fifo"))
    save_file({"logits": logits.contiguous()}, os.path.join(OUT, "gpt2-dora-fifo", "expected.safetensors"),
              metadata={"format": "pt"})
    strip_readme("gpt2-dora-fifo")

    torch.manual_seed(2025)
    llama = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                         tie_word_embeddings=False)).eval()
    llama.save_pretrained(os.path.join(OUT, "base-llama"), safe_serialization=True)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"],
                     layers_to_transform=[1], layers_pattern="layers", rank_pattern={"k_proj": 2},
                     alpha_pattern={"o_proj": 16}, bias="all", init_lora_weights=False)
    model = get_peft_model(llama, cfg)
    perturb(model, gen)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    model.save_pretrained(os.path.join(OUT, "llama-patterns"))
    save_file({"logits": logits.contiguous()}, os.path.join(OUT, "llama-patterns", "expected.safetensors"),
              metadata={"format": "pt"})
    strip_readme("llama-patterns")
    for d in ("gpt2-dora-fifo", "llama-patterns"):
        from safetensors import safe_open
        with safe_open(os.path.join(OUT, d, "adapter_model.safetensors"), "pt") as f:
            print(d, len(list(f.keys())), "tensors:", sorted(f.keys()))


def main():
    global OUT
    args = sys.argv[1:]
    if "--out" in args:
        OUT = args[args.index("--out") + 1]
    only = args[args.index("--only") + 1] if "--only" in args else None
    os.makedirs(OUT, exist_ok=True)
    if only in (None, "decoders"):
        make_decoders()
    if only == "decoders":
        return
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
        strip_readme(d)


if __name__ == "__main__":
    main()
