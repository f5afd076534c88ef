"""Makes the tiny random BERT golden files under models/src/test/resources/tiny-bert/.

Run from the repository root with the project's golden-file venv:
    /work/pyenv/bin/python tools/bert/make_tiny_bert.py

Writes two HF model directories and the reference outputs of HF transformers for one fixed
padded batch:
  tiny-bert/model/      BertModel (with pooler): config.json + model.safetensors
  tiny-bert/mlm/        BertForMaskedLM: names prefixed "bert.", a "cls.predictions" head, no pooler
  tiny-bert/expected.json  ids, mask, token types, last_hidden_state, pooler_output (model/),
                           mlm_last_hidden_state (mlm/)
Weights are re-drawn with larger spread than HF's N(0, 0.02) init (and random LayerNorm affine
parameters) so that a wrong parameter mapping cannot hide behind near-identity LayerNorms.
"""
import json
import os

import torch
from transformers import BertConfig, BertForMaskedLM, BertModel

OUT = os.path.join("models", "src", "test", "resources", "tiny-bert")


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def main():
    torch.manual_seed(1234)
    config = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=48, max_position_embeddings=24, type_vocab_size=2,
                        hidden_act="gelu", layer_norm_eps=1e-12,
                        attn_implementation="eager")
    ids = [[2, 14, 27, 9, 33, 51, 8, 3],
           [2, 40, 7, 3, 19, 22, 3, 0],
           [2, 5, 3, 0, 0, 0, 0, 0]]
    mask = [[1, 1, 1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 1, 1, 0],
            [1, 1, 1, 0, 0, 0, 0, 0]]
    types = [[0, 0, 0, 0, 1, 1, 1, 1],
             [0, 0, 0, 0, 1, 1, 1, 0],
             [0, 0, 0, 0, 0, 0, 0, 0]]
    ids_t, mask_t, types_t = torch.tensor(ids), torch.tensor(mask), torch.tensor(types)

    model = BertModel(config, add_pooling_layer=True).eval()
    randomize(model, 42)
    model.save_pretrained(os.path.join(OUT, "model"), safe_serialization=True)
    with torch.no_grad():
        out = model(input_ids=ids_t, attention_mask=mask_t, token_type_ids=types_t)

    # Gradients of a fixed linear functional of the outputs (dropout off), for the backward-pass test:
    # loss = sum(last_hidden_state * R) + sum(pooler_output * P), R[b, s, h] = ((b*31 + s*7 + h) % 13 - 6) / 6,
    # P[b, h] = ((b*5 + h) % 7 - 3) / 3 (TinyBertParityTest recomputes both).
    model.zero_grad()
    out_g = model(input_ids=ids_t, attention_mask=mask_t, token_type_ids=types_t)
    b, s, h = out_g.last_hidden_state.shape
    r = torch.tensor([[[((bi * 31 + si * 7 + hi) % 13 - 6) / 6 for hi in range(h)] for si in range(s)] for bi in range(b)])
    pp = torch.tensor([[((bi * 5 + hi) % 7 - 3) / 3 for hi in range(h)] for bi in range(b)])
    loss = (out_g.last_hidden_state * r).sum() + (out_g.pooler_output * pp).sum()
    loss.backward()
    params = dict(model.named_parameters())
    grads = {n: params[n].grad.tolist() for n in ["encoder.layer.0.attention.self.query.weight",
                                                   "embeddings.word_embeddings.weight",
                                                   "embeddings.LayerNorm.weight",
                                                   "encoder.layer.1.output.dense.bias"]}

    mlm = BertForMaskedLM(config).eval()
    randomize(mlm, 43)
    mlm.save_pretrained(os.path.join(OUT, "mlm"), safe_serialization=True)
    os.remove(os.path.join(OUT, "mlm", "generation_config.json"))
    with torch.no_grad():
        mlm_hidden = mlm.bert(input_ids=ids_t, attention_mask=mask_t, token_type_ids=types_t).last_hidden_state

    expected = {
        "input_ids": ids, "attention_mask": mask, "token_type_ids": types,
        "last_hidden_state": out.last_hidden_state.tolist(),
        "pooler_output": out.pooler_output.tolist(),
        "mlm_last_hidden_state": mlm_hidden.tolist(),
        "loss": loss.item(), "gradients": grads,
        "transformers": __import__("transformers").__version__, "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
    for d in ("model", "mlm"):
        from safetensors import safe_open
        with safe_open(os.path.join(OUT, d, "model.safetensors"), "pt") as f:
            print(d, sorted(f.keys())[:3], "...", len(list(f.keys())), "tensors")


if __name__ == "__main__":
    main()
