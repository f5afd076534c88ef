"""Shared by tools/ia3, tools/ln_tuning and tools/prompt make_peft_fixtures.py (run with /work/pyenv/bin/python; never
needed by CI): the fixed batch, the tiny random bases and the writer of HF PEFT fixture directories.

A fixture directory holds the files PEFT's save_pretrained wrote (without its README.md, and with
base_model_name_or_path cut to the base directory's name, since the machine's absolute path is noise in a committed
fixture) and expected.safetensors, the outputs peft4j must reproduce.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import BertConfig, LlamaConfig

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# the fixture batch: int64 [2, 7], the second row right-padded
IDS = torch.tensor([[2, 7, 9, 13, 21, 4, 3], [2, 11, 5, 3, 0, 0, 0]], dtype=torch.long)
MASK = (IDS != 0).long()


def out_dir(*default):
    """--out DIR from the command line, else REPO/<default...>."""
    if "--out" in sys.argv:
        return sys.argv[sys.argv.index("--out") + 1]
    return os.path.join(REPO, *default)


def tiny_bert_config():
    """BertModel, hidden 16, 2 layers, 2 heads, intermediate 24, vocab 50, 32 positions."""
    return BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                      max_position_embeddings=32, type_vocab_size=2)


def tiny_llama_config():
    """LlamaForCausalLM, GQA (4 heads, 2 kv heads, head dim 4), tied embeddings, vocab 50."""
    return LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True, initializer_range=0.4)


def perturb(model, gen, scale=0.3):
    """Moves every trainable tensor away from its init value (fresh IA3 vectors are the identity, fresh LoRA B zero)."""
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn(p.shape, generator=gen))


class FixtureWriter:
    def __init__(self, out):
        self.out = out
        os.makedirs(out, exist_ok=True)

    def path(self, *parts):
        return os.path.join(self.out, *parts)

    def save_base(self, model, name):
        d = self.path(name)
        model.save_pretrained(d, safe_serialization=True)
        p = os.path.join(d, "generation_config.json")
        if os.path.exists(p):
            os.remove(p)

    def save_adapter(self, peft_model, name, expected):
        d = self.path(name)
        peft_model.save_pretrained(d, safe_serialization=True)
        readme = os.path.join(d, "README.md")
        if os.path.exists(readme):
            os.remove(readme)
        config_file = os.path.join(d, "adapter_config.json")
        with open(config_file) as f:
            config = json.load(f)
        for key in ("target_modules", "feedforward_modules", "modules_to_save"):
            if isinstance(config.get(key), list):
                config[key] = sorted(config[key])  # PEFT keeps sets: their order changes with Python's hash seed
        if config.get("base_model_name_or_path"):
            config["base_model_name_or_path"] = os.path.basename(os.path.normpath(config["base_model_name_or_path"]))
        with open(config_file, "w") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        save_file({k: v.detach().contiguous() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
