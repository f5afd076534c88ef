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

cases["torch_version"] = torch.__version__
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(cases, indent=1) + "\n")
print("wrote", OUT, OUT.stat().st_size, "bytes")
