#!/usr/bin/env python3
"""HF transformers + PEFT beside `peft4j train examples/sst2-lora.conf` on the same GPU (tools/gpu-check.sh, step 5).

The same settings as the peft4j run: peft4j's imported all-MiniLM-L6-v2 directory (config.json, model.safetensors,
tokenizer.json; ~/.cache/peft4j/models/...), LoRA r=8, alpha=16, dropout 0.1 on query and value; a head that mean-pools
the last hidden state over the attention mask, dropout 0.1, then Linear(hidden, 2) (peft4j's sequence-classification
head with pooling = mean), trained with the adapter; the first N SST-2 training sentences in file order, max length 64,
batch 32 in file order (peft4j buckets by length, so per-step shapes differ), AdamW (lr, weight decay 0.01, betas 0.9/0.999,
eps 1e-8) with 6% linear warm-up then linear decay, gradient clipping at 1.0; evaluation on all of dev.tsv.

Prints `hf-peft accuracy=... ms_per_step=... tokens_per_s=... gpu_max_allocated_mb=... gpu_used_mb=...` (tokens are the
padded batch shape, as peft4j's bench counts them; ms/step is the median of the steps after the first 3).
"""
import argparse
import statistics
import time


def read_tsv(path, limit=0):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            text, label = line.rstrip("\n").rsplit("\t", 1)
            rows.append((text, int(label)))
            if limit and len(rows) == limit:
                break
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder with train.tsv and dev.tsv")
    ap.add_argument("--train-limit", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    import os
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import BertModel, PreTrainedTokenizerFast, get_linear_schedule_with_warmup

    torch.manual_seed(a.seed)
    dev = torch.device("cuda")
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(a.model, "tokenizer.json"), pad_token="[PAD]", cls_token="[CLS]",
                                  sep_token="[SEP]", unk_token="[UNK]", mask_token="[MASK]")
    bert = BertModel.from_pretrained(a.model, add_pooling_layer=False)
    bert = get_peft_model(bert, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.1, target_modules=["query", "value"]))

    class Classifier(torch.nn.Module):
        def __init__(self, backbone, hidden):
            super().__init__()
            self.backbone = backbone
            self.dropout = torch.nn.Dropout(0.1)
            self.classifier = torch.nn.Linear(hidden, 2)

        def forward(self, ids, mask):
            h = self.backbone(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.classifier(self.dropout(pooled))

    model = Classifier(bert, bert.config.hidden_size).to(dev)
    train = read_tsv(os.path.join(a.data, "train.tsv"), a.train_limit)
    evald = read_tsv(os.path.join(a.data, "dev.tsv"))

    def batches(rows):
        for i in range(0, len(rows), a.batch_size):
            chunk = rows[i:i + a.batch_size]
            enc = tok([t for t, _ in chunk], padding=True, truncation=True, max_length=a.max_length, return_tensors="pt")
            yield enc["input_ids"].to(dev), enc["attention_mask"].to(dev), torch.tensor([l for _, l in chunk], device=dev)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr,
                            betas=(0.9, 0.999), eps=1e-8)
    steps = a.epochs * ((len(train) + a.batch_size - 1) // a.batch_size)
    sched = get_linear_schedule_with_warmup(opt, int(0.06 * steps + 0.999), steps)
    times, tokens = [], []
    model.train()
    torch.cuda.reset_peak_memory_stats()
    t_start = time.perf_counter()
    for _ in range(a.epochs):
        for ids, mask, labels in batches(train):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(ids, mask), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
            tokens.append(ids.numel())
    train_s = time.perf_counter() - t_start
    model.eval()
    correct = 0
    with torch.no_grad():
        for ids, mask, labels in batches(evald):
            correct += (model(ids, mask).argmax(-1) == labels).sum().item()
    ms = statistics.median(times[3:] or times) * 1000
    free, total = torch.cuda.mem_get_info()
    print(f"hf-peft accuracy={correct / len(evald):.4f} steps={len(times)} train_s={train_s:.1f} ms_per_step={ms:.1f} "
          f"tokens_per_s={sum(tokens) / sum(times):.0f} gpu_max_allocated_mb={torch.cuda.max_memory_allocated() // 2**20} "
          f"gpu_used_mb={(total - free) // 2**20}", flush=True)


if __name__ == "__main__":
    main()
