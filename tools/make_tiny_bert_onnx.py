#!/usr/bin/env python3
"""Makes the tiny BERT test fixtures in models/src/test/resources/tiny-bert-onnx/ (run once; the
outputs are committed, the build never runs Python).

A randomly initialised HF BertModel (2 layers, hidden 32, 4 heads of 8, intermediate 48, vocab 96,
layer_norm_eps 1e-7, no pooler) exported to ONNX the way the langchain4j jars were (torch.onnx
TorchScript exporter, opset 11, eager attention, constant folding), so that OnnxBertImporter sees
the same structure: named biases/LayerNorms/embeddings and anonymous onnx::MatMul_NNN [in,out]
linear weights. Head count 4 x 8 and eps 1e-7 differ from the real models' 12 x 32 and 1e-12 on
purpose, so that a test proves they are derived from the graph.

Writes:
  tiny-bert.onnx        the export
  tokenizer.json        a WordPiece tokenizer over the same 96-token vocabulary
  expected.json         HF config, every state-dict tensor's shape, first values and sum (HF layout),
                        and the last hidden state for a padded batch (torch, checked against ONNX Runtime)
"""
import json, os, sys
import numpy as np
import torch
from transformers import BertConfig, BertModel
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders

out = sys.argv[1] if len(sys.argv) > 1 else "models/src/test/resources/tiny-bert-onnx"
os.makedirs(out, exist_ok=True)
torch.manual_seed(1234)

words = ("the a an is was of to and in on at it this that movie film good bad great awful really not very "
         "story plot actor acting fun boring love hate best worst music long short funny sad happy dark "
         "light day night man woman child dog cat house car road tree water fire").split()
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
pieces = ["##s", "##ed", "##ing", "##ly", "##er", "##est", ".", ",", "!", "?", "'", "-"]
vocab = specials + words + pieces
vocab += [f"##x{i}" for i in range(96 - len(vocab))]
assert len(vocab) == 96, len(vocab)
vocab_map = {t: i for i, t in enumerate(vocab)}

tok = Tokenizer(models.WordPiece(vocab=vocab_map, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
    special_tokens=[("[CLS]", vocab_map["[CLS]"]), ("[SEP]", vocab_map["[SEP]"])])
tok.decoder = decoders.WordPiece(prefix="##")
for s in specials:
    tok.add_special_tokens([s])
tok.save(os.path.join(out, "tokenizer.json"))

config = BertConfig(vocab_size=96, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                    max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-7, hidden_act="gelu",
                    pad_token_id=0, attn_implementation="eager")
model = BertModel(config, add_pooling_layer=False).eval()
# random init gives LayerNorm weight 1 / bias 0: perturb so a mixed-up LayerNorm mapping shows
with torch.no_grad():
    for name, p in model.named_parameters():
        if "LayerNorm" in name or name.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))

texts = ["the movie was really good", "a bad film.", "the actor's acting was not very funny, but the music was great!", "dogs"]
enc = [tok.encode(t) for t in texts]
seq = max(len(e.ids) for e in enc)
ids = np.zeros((len(texts), seq), dtype=np.int64)
mask = np.zeros_like(ids)
for i, e in enumerate(enc):
    ids[i, :len(e.ids)] = e.ids
    mask[i, :len(e.ids)] = 1
types = np.zeros_like(ids)

onnx_path = os.path.join(out, "tiny-bert.onnx")
with torch.no_grad():
    torch.onnx.export(model, (torch.tensor(ids), torch.tensor(mask), torch.tensor(types)), onnx_path,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch_size", 1: "sequence_length"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
                      opset_version=11, do_constant_folding=True, dynamo=False)
    hidden = model(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types)).last_hidden_state.numpy()

import onnxruntime as ort
sess = ort.InferenceSession(onnx_path)
ort_hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
diff = float(np.abs(ort_hidden - hidden).max())
assert diff < 1e-5, diff

tensors = {}
for name, t in model.state_dict().items():
    if name == "embeddings.position_ids":
        continue
    a = t.detach().numpy().astype(np.float32)
    tensors[name] = {"shape": list(a.shape), "first": [float(x) for x in a.ravel()[:4]], "sum": float(a.astype(np.float64).sum())}
cfg = json.loads(config.to_json_string())
expected = {
    "config": {k: cfg[k] for k in ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                    "vocab_size", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act"]},
    "tensors": tensors,
    "parameters": int(sum(int(np.prod(v["shape"])) for v in tensors.values())),
    "texts": texts,
    "input_ids": ids.tolist(),
    "attention_mask": mask.tolist(),
    "last_hidden_state": [[[round(float(x), 7) for x in row] for row in b] for b in hidden],
    "onnxruntime_vs_torch_max_abs_diff": diff,
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", out, "params", expected["parameters"], "ort diff", diff)

# A second export with HF's pooler (1 layer): torch.onnx writes the pooler as Gemm(transB=1) over the
# named [out, in] weight pooler.dense.weight, unlike the encoder's anonymous [in, out] MatMul weights.
torch.manual_seed(99)
pooler_config = BertConfig(vocab_size=96, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=48,
                           max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
                           pad_token_id=0, attn_implementation="eager")
pooler_model = BertModel(pooler_config, add_pooling_layer=True).eval()
with torch.no_grad():  # distinct values: the exporter merges identical initializers (all-zero biases) into one
    for name, p in pooler_model.named_parameters():
        if "LayerNorm" in name or name.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))
pooler_path = os.path.join(out, "tiny-bert-pooler.onnx")
with torch.no_grad():
    torch.onnx.export(pooler_model, (torch.tensor(ids), torch.tensor(mask), torch.tensor(types)), pooler_path,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state", "pooler_output"],
                      dynamic_axes={n: {0: "batch_size", 1: "sequence_length"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
                      opset_version=11, do_constant_folding=True, dynamo=False)
w = pooler_model.pooler.dense.weight.detach().numpy()
pooler_expected = {
    "pooler.dense.weight": {"shape": list(w.shape), "first": [float(x) for x in w.ravel()[:4]]},
    "parameters": int(sum(p.numel() for p in pooler_model.parameters())),
}
with open(os.path.join(out, "expected-pooler.json"), "w") as f:
    json.dump(pooler_expected, f, indent=1)
print("wrote pooler export, params", pooler_expected["parameters"])
