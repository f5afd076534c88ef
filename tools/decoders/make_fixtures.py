"""Writes the HF-parity fixtures for peft4j's decoders (run with /work/pyenv/bin/python from the repo root).

* models/src/test/resources/tiny-gpt2/: a tiny random GPT2LMHeadModel (save_pretrained, safetensors)
  plus expected.json (logits of a fixed right-padded batch).
* models/src/test/resources/tiny-llama/: a tiny random LlamaForCausalLM with GQA, untied lm_head,
  attention_bias false, rope_theta 500000, plus expected.json.
* models/src/test/resources/tinystories-260k-logits.json: HF logits of stories260K on BOS + the first
  19 golden tokens (20 positions), read from <data>/tinystories-260k (argument 1, default /work/shared/data).
"""
import json
import os
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

OUT = "models/src/test/resources"
DATA = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"

# A fixed batch: row 0 is full, row 1 is right-padded, row 2 left-padded (pad id 0, mask 0).
# No position_ids are passed, so HF uses 0..7 for every row (as peft4j does without positionIds).
INPUT_IDS = [[5, 17, 42, 3, 60, 11, 29, 8], [7, 33, 2, 50, 0, 0, 0, 0], [0, 0, 0, 7, 33, 2, 50, 9]]
MASK = [[1] * 8, [1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1]]


def rounded(t):
    return [round(float(v), 7) for v in t.reshape(-1).tolist()]


def write_expected(model, directory):
    model.eval()
    with torch.no_grad():
        ids = torch.tensor(INPUT_IDS)
        mask = torch.tensor(MASK)
        output = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        logits = output.logits
    expected = {
        "input_ids": INPUT_IDS,
        "attention_mask": MASK,
        "logits_shape": list(logits.shape),
        # Logits at padded positions are not compared (HF's value there depends on its mask kernel).
        "logits": rounded(logits),
        # HF hidden_states: embeddings, outputs of layers 0 .. L-2, last state after the final norm.
        "hidden_states": [rounded(h) for h in output.hidden_states],
    }
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f)


def gpt2():
    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=64, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    # Random init uses std 0.02; make biases and norms non-trivial so that a wrong layout shows.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "ln_" in name:
                p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(OUT, "tiny-gpt2")
    model.save_pretrained(d, safe_serialization=True)
    write_expected(model, d)


def llama():
    torch.manual_seed(4321)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         rms_norm_eps=1e-6, rope_theta=500000.0, attention_bias=False, mlp_bias=False,
                         tie_word_embeddings=False, initializer_range=0.1)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(OUT, "tiny-llama")
    model.save_pretrained(d, safe_serialization=True)
    write_expected(model, d)


def stories():
    src = os.path.join(DATA, "tinystories-260k")
    model = LlamaForCausalLM.from_pretrained(src, torch_dtype=torch.float32)
    model.eval()
    with open(os.path.join(src, "golden_greedy_bos_200.txt")) as f:
        golden = [int(t) for t in f.readline().split()]
    ids = [1] + golden[:19]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits
    with open(os.path.join(OUT, "tinystories-260k-logits.json"), "w") as f:
        json.dump({"input_ids": ids, "logits_shape": list(logits.shape), "logits": rounded(logits)}, f)


if __name__ == "__main__":
    gpt2()
    llama()
    stories()
