#!/usr/bin/env python3
"""The `peft4j bench` workloads with HF transformers + PEFT on PyTorch (CPU), for docs/benchmarks.md.

Same shapes and steps as `peft4j bench`: a BertForSequenceClassification with all-MiniLM-L6-v2's
config (6 layers, hidden 384, 12 heads, intermediate 1536, vocab 30522; random init, since the
timing does not depend on the weights), 2 labels; random token ids of one fixed length with every
position attended; LoRA r=8, alpha=8, no dropout on query and value (the classifier trains too,
PEFT's SEQ_CLS modules_to_save), IA3 with PEFT's BERT defaults, prefix tuning or prompt tuning with 20 virtual
tokens (PEFT's defaults otherwise: no prefix projection, random prompt init), or full fine-tuning.
Prefix tuning on BERT needs transformers 4.x (5.x refuses BERT's past key values); the numbers in
docs/benchmarks.md were taken with transformers 4.46.3. One step: forward, cross-entropy loss, backward,
grad-norm clipping at 1.0, AdamW (lr 1e-4, weight decay 0.01), zero grads. The median step time after
the warm-up; every workload runs in a fresh process, so VmHWM is that workload's peak RSS.

  python tools/bench/hf_peft_bench.py [--workloads lora-16x64,full-32x128] [--steps 20] [--warmup 3] [--threads 2] [--dropout P]
                                      [--device cpu|cuda]

--device cuda runs on GPU 0 (as `peft4j bench --device gpu`): each timed step ends with
torch.cuda.synchronize(), and the line adds gpu_used_mb (device-wide memory in use after the steps,
total minus free, the number peft4j prints) and gpu_max_allocated_mb (torch's own peak of live tensors).

--dropout P sets hidden_dropout_prob, attention_probs_dropout_prob and classifier_dropout to P (as
`peft4j bench --dropout P`); the default keeps BertConfig's 0.1.

Prints `workload=NAME ms_per_step=X tokens_per_s=Y peak_rss_mb=Z`, one line per workload.
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

DEFAULT = ["lora-16x64", "lora-32x128", "full-16x64", "full-32x128"]


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return -1


def run_here(name, steps, warmup, threads, dropout, device="cpu"):
    import torch
    try:  # some peft versions touch torch.distributed.tensor without importing it
        import torch.distributed.tensor  # noqa: F401
    except ImportError:
        pass
    from transformers import BertConfig, BertForSequenceClassification

    torch.set_num_threads(threads)
    m = re.fullmatch(r"(lora|full|ia3|prefix|prompt)-(\d+)x(\d+)", name)
    if not m:
        raise SystemExit(f"workload '{name}' is not METHOD-BATCHxSEQ (lora, full, ia3, prefix or prompt)")
    method, batch, seq = m.group(1), int(m.group(2)), int(m.group(3))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512, num_labels=2)
    if dropout is not None:
        config.hidden_dropout_prob = config.attention_probs_dropout_prob = config.classifier_dropout = dropout
    model = BertForSequenceClassification(config)
    if method != "full":
        from peft import IA3Config, LoraConfig, PrefixTuningConfig, PromptTuningConfig, TaskType, get_peft_model
        peft_config = {
            "lora": lambda: LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=8, lora_dropout=0.0, target_modules=["query", "value"]),
            "ia3": lambda: IA3Config(task_type=TaskType.SEQ_CLS),
            "prefix": lambda: PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=20),
            "prompt": lambda: PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=20),
        }[method]()
        model = get_peft_model(model, peft_config)
    model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(7)
    batches = []
    for _ in range(4):
        ids = torch.randint(1000, 30522, (batch, seq), generator=g)
        ids[:, 0] = 101
        ids[:, -1] = 102
        labels = torch.randint(0, 2, (batch,), generator=g)
        batches.append((ids.to(device), labels.to(device)))
    times = []
    for i in range(warmup + steps):
        ids, labels = batches[i % len(batches)]
        t0 = time.perf_counter()
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids), labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        if device != "cpu":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        if i >= warmup:
            times.append(t1 - t0)
    ms = statistics.median(times) * 1000
    trainable = sum(p.numel() for p in params)
    print(f"workload={name} trainable={trainable}", file=sys.stderr)
    gpu = ""
    if device != "cpu":
        free, total = torch.cuda.mem_get_info()
        gpu = f" gpu_used_mb={(total - free) // (1024 * 1024)} gpu_max_allocated_mb={torch.cuda.max_memory_allocated() // (1024 * 1024)}"
    print(f"workload={name} ms_per_step={ms:.1f} tokens_per_s={batch * seq / (ms / 1000):.0f} peak_rss_mb={peak_rss_mb()}{gpu}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=",".join(DEFAULT))
    ap.add_argument("--workload", help="run one workload in this process (what the parent starts each child with)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=None)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args()
    if a.workload:
        run_here(a.workload, a.steps, a.warmup, a.threads, a.dropout, a.device)
        return
    for name in a.workloads.split(","):
        out = subprocess.run([sys.executable, __file__, "--workload", name, "--steps", str(a.steps), "--warmup", str(a.warmup),
                              "--threads", str(a.threads), "--device", a.device] + ([] if a.dropout is None else ["--dropout", str(a.dropout)]), check=True, stdout=subprocess.PIPE, text=True).stdout
        print([l for l in out.splitlines() if l.startswith("workload=")][-1], flush=True)


if __name__ == "__main__":
    main()
