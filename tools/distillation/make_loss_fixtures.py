#!/usr/bin/env python3
"""Reference values of the distillation losses, computed by PyTorch's own functions.

Writes distillation/src/test/resources/kd-loss-fixtures.json: fixed random tensors (seeded), and for
each loss the value torch gives plus the gradient with respect to the student's tensor, so that
DistillationLossesTest can check peft4j's losses (value and gradient) to 1e-6.

    /work/pyenv/bin/python tools/distillation/make_loss_fixtures.py

References (exactly the formulas the papers' code uses):
- soft-target KL (Hinton; DistilBERT's loss_ce):
  F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T**2,
  mixed with F.cross_entropy(s, y) by alpha.
- token-level KL (causal LM): the same kl_div over the positions whose shifted label is not -100.
- hidden-state MSE: F.mse_loss(s[mask], t[mask]); cosine: F.cosine_embedding_loss(s[mask], t[mask], ones)
  (DistilBERT's cosine_loss), mask = the attention mask.
- attention transfer on attention probabilities [batch, heads, seq, seq]: KL (MiniLM):
  F.kl_div(log(s.clamp_min(1e-12)), t, reduction="none").sum(-1), the mean over heads and real queries;
  MSE (TinyBERT): F.mse_loss(s[pairs], t[pairs]) over real (query, key) pairs of every head. A teacher
  with another head count is compared head-averaged.
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
OUT = pathlib.Path(__file__).resolve().parents[2] / "distillation/src/test/resources/kd-loss-fixtures.json"


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def with_grad(fn, s):
    s = s.clone().requires_grad_(True)
    loss = fn(s)
    loss.backward()
    return float(loss.item()), flat(s.grad)


cases = {}

# soft-target KL on sequence-classification logits [batch, classes]
B, C = 4, 3
s = torch.randn(B, C, dtype=torch.float64) * 2
t = torch.randn(B, C, dtype=torch.float64) * 3
y = torch.tensor([0, 2, 1, 2])
for T, alpha in [(1.0, 1.0), (2.0, 0.5), (4.0, 0.9)]:
    def soft(x, T=T, alpha=alpha):
        kd = F.kl_div(F.log_softmax(x / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T * T
        ce = F.cross_entropy(x, y)
        return alpha * kd + (1 - alpha) * ce
    value, grad = with_grad(soft, s)
    kd_only, kd_grad = with_grad(lambda x, T=T: F.kl_div(F.log_softmax(x / T, -1), F.softmax(t / T, -1), reduction="batchmean") * T * T, s)
    cases[f"soft_T{T:g}_a{alpha:g}"] = {"temperature": T, "alpha": alpha, "kd": kd_only, "kd_grad": kd_grad,
                                        "mixed": value, "mixed_grad": grad}
cases["soft_inputs"] = {"student": flat(s), "teacher": flat(t), "labels": y.tolist(), "shape": [B, C],
                        "task_loss": float(F.cross_entropy(s, y))}

# token-level KL on causal-LM logits [batch, seq, vocab], labels -100 on prompt / padding
B, T_, V = 2, 5, 7
ls = torch.randn(B, T_, V, dtype=torch.float64) * 2
lt = torch.randn(B, T_, V, dtype=torch.float64) * 2
labels = torch.tensor([[-100, -100, 3, 4, 1], [-100, 2, 6, -100, -100]])
for Temp, shift in [(1.0, True), (2.0, True), (1.5, False)]:
    def token(x, Temp=Temp, shift=shift):
        xs, ts, lab = (x[:, :-1], lt[:, :-1], labels[:, 1:]) if shift else (x, lt, labels)
        valid = lab != -100
        return F.kl_div(F.log_softmax(xs[valid] / Temp, -1), F.softmax(ts[valid] / Temp, -1), reduction="batchmean") * Temp * Temp
    value, grad = with_grad(token, ls)
    cases[f"token_T{Temp:g}_shift{str(shift).lower()}"] = {"temperature": Temp, "shift": shift, "kd": value, "kd_grad": grad}
cases["token_inputs"] = {"student": flat(ls), "teacher": flat(lt), "labels": flat(labels), "shape": [B, T_, V]}

# hidden states [batch, seq, hidden] with an attention mask (right padding)
B, T_, H = 3, 4, 6
hs = torch.randn(B, T_, H, dtype=torch.float64)
ht = torch.randn(B, T_, H, dtype=torch.float64)
mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]])
m = mask.bool()
value, grad = with_grad(lambda x: F.mse_loss(x[m], ht[m]), hs)
cases["hidden_mse"] = {"loss": value, "grad": grad}
value, grad = with_grad(lambda x: F.cosine_embedding_loss(x[m], ht[m], torch.ones(int(m.sum()), dtype=torch.float64)), hs)
cases["hidden_cosine"] = {"loss": value, "grad": grad}
cases["hidden_inputs"] = {"student": flat(hs), "teacher": flat(ht), "mask": flat(mask), "shape": [B, T_, H]}

# attention probabilities [batch, heads, seq, seq]: softmax over the keys with padded keys masked out
B, T_ = 2, 4
amask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
additive = (1 - amask[:, None, None, :].double()) * -1e9


def probs(heads):
    return torch.softmax(torch.randn(B, heads, T_, T_, dtype=torch.float64) * 2 + additive, -1)


a_s = probs(2)
a_t = probs(2)
a_t4 = probs(4)
queries = amask[:, None, :].double()  # [B, 1, T]
pairs = (amask[:, None, :, None] * amask[:, None, None, :]).bool()  # [B, 1, T, T]


def attention_kl(x, t):
    if t.shape[1] != x.shape[1]:
        x, t = x.mean(1, keepdim=True), t.mean(1, keepdim=True)
    per_query = F.kl_div(torch.log(x.clamp_min(1e-12)), t, reduction="none").sum(-1)  # [B, H, T]
    return (per_query * queries).sum() / (queries.sum() * x.shape[1])


def attention_mse(x, t):
    if t.shape[1] != x.shape[1]:
        x, t = x.mean(1, keepdim=True), t.mean(1, keepdim=True)
    m = pairs.expand(-1, x.shape[1], -1, -1)
    return F.mse_loss(x[m], t[m])


for name, fn, teacher in [("attention_kl", attention_kl, a_t), ("attention_mse", attention_mse, a_t),
                          ("attention_kl_heads", attention_kl, a_t4), ("attention_mse_heads", attention_mse, a_t4)]:
    value, grad = with_grad(lambda x, fn=fn, teacher=teacher: fn(x, teacher), a_s)
    cases[name] = {"loss": value, "grad": grad}
cases["attention_inputs"] = {"student": flat(a_s), "teacher": flat(a_t), "teacher4": flat(a_t4), "mask": flat(amask),
                             "shape": [B, 2, T_, T_]}

cases["torch_version"] = torch.__version__
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(cases, indent=1) + "\n")
print("wrote", OUT, OUT.stat().st_size, "bytes")
