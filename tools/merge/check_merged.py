#!/usr/bin/env python
"""Checks a directory written by `peft4j merge` with HF transformers (run with /work/pyenv/bin/python).

  check_merged.py MERGED_DIR ENCODE_JSONL [PREDICT_JSONL]

MERGED_DIR     the output of `peft4j merge RUN_DIR --out MERGED_DIR`
ENCODE_JSONL   the output of `peft4j encode MERGED_DIR --input TEXTS --max-length N` (text + embedding per line);
               set MAX_LENGTH=N in the environment to the same N (default 256), or long texts are cut differently
PREDICT_JSONL  the output of `peft4j predict MERGED_DIR/peft4j-run --input TEXTS` (text + label + score per line)

transformers loads MERGED_DIR with AutoModel.from_pretrained (safetensors only, never a pickle), the texts are tokenised
with the directory's tokenizer.json, and:
  - the mean-pooled, L2-normalised last hidden state is compared with peft4j's embedding of the same text;
  - with PREDICT_JSONL, the head in MERGED_DIR/peft4j-run (model/trainable.safetensors: classifier.weight/bias; pooling
    from resolved.conf: cls, mean or pooler; labels.json) is applied in PyTorch and its top label and probability are
    compared with peft4j's prediction.
Prints the max abs differences; exits 1 if a label differs or a difference exceeds 1e-4.
"""
import json
import os
import re
import sys

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModel


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    merged, encode_file = sys.argv[1], sys.argv[2]
    predict_file = sys.argv[3] if len(sys.argv) == 4 else None
    model = AutoModel.from_pretrained(merged, use_safetensors=True).eval()
    tokenizer = Tokenizer.from_file(os.path.join(merged, "tokenizer.json"))
    tokenizer.no_padding()

    def hidden(text, max_length):
        tokenizer.enable_truncation(max_length)
        enc = tokenizer.encode(text)
        ids = torch.tensor([enc.ids])
        mask = torch.tensor([enc.attention_mask])
        types = torch.tensor([enc.type_ids])
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
        return out, mask

    worst = 0.0
    encoded = [json.loads(l) for l in open(encode_file, encoding="utf-8") if l.strip()]
    max_length = int(os.environ.get("MAX_LENGTH", "256"))
    for line in encoded:
        out, mask = hidden(line["text"], max_length)
        m = mask.unsqueeze(-1).float()
        pooled = (out.last_hidden_state * m).sum(1) / m.sum(1)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)[0]
        worst = max(worst, (pooled - torch.tensor(line["embedding"])).abs().max().item())
    print(f"embeddings: {len(encoded)} texts, max abs diff transformers vs peft4j {worst:.3g}")
    ok = worst <= 1e-4

    if predict_file:
        run = os.path.join(merged, "peft4j-run")
        head = load_file(os.path.join(run, "model", "trainable.safetensors"))
        conf = open(os.path.join(run, "resolved.conf"), encoding="utf-8").read()
        head_section = re.search(r"\bhead\s*\{(.*?)\n\}", conf, re.S).group(1)
        pooling = re.search(r"\bpooling\s*=\s*\"?(\w+)", head_section).group(1)
        run_max = int(re.search(r"max-length\s*=\s*(\d+)", conf).group(1))
        labels = json.load(open(os.path.join(run, "labels.json"), encoding="utf-8"))
        labels = labels["labels"] if isinstance(labels, dict) else labels
        predicted = [json.loads(l) for l in open(predict_file, encoding="utf-8") if l.strip()]
        score_diff, disagree = 0.0, 0
        for line in predicted:
            out, mask = hidden(line["text"], run_max)
            if pooling == "cls":
                pooled = out.last_hidden_state[:, 0]
            elif pooling == "mean":
                m = mask.unsqueeze(-1).float()
                pooled = (out.last_hidden_state * m).sum(1) / m.sum(1)
            elif pooling == "pooler":
                pooled = out.pooler_output
            else:
                sys.exit(f"pooling {pooling} is not checked by this script")
            logits = pooled @ head["classifier.weight"].T + head["classifier.bias"]
            p = torch.softmax(logits, -1)[0]
            k = int(p.argmax())
            disagree += labels[k] != line["label"]
            score_diff = max(score_diff, abs(p[k].item() - line["score"]))
        print(f"predictions: {len(predicted)} texts, pooling {pooling}, labels that differ {disagree}, "
              f"max abs diff of the top probability {score_diff:.3g}")
        ok = ok and disagree == 0 and score_diff <= 1e-4
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
