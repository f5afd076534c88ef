#!/usr/bin/env python
"""Makes the HF PEFT prompt-learning fixtures under adapters/src/test/resources/prompt-fixtures/
(run with /work/pyenv/bin/python; made with torch 2.7.1, transformers 5.24.0, peft 0.21.2).

Tiny random bases saved as HF directories (safetensors), adapters saved by PEFT's save_pretrained after
random perturbation of the trained tensors, and the expected outputs for a fixed batch. The Java test
PeftPromptInteropTest loads base + adapter and must match.

  batch.safetensors        input_ids, attention_mask (int64 [2, 7], second row right-padded)
  base-bert/               BertModel
  bert-prefix/             PREFIX_TUNING P=3, FEATURE_EXTRACTION          expected.safetensors: last_hidden_state [2, 7, 16]
  bert-prefix-projection/  PREFIX_TUNING P=3 with prefix_projection, encoder_hidden_size=12: PEFT saves only the final
                           prefix (prompt_embeddings [3, 2 * 2 * 16])      expected: last_hidden_state
  bert-prompt/             PROMPT_TUNING P=3                              expected: last_hidden_state [2, 3 + 7, 16]
  base-llama/              LlamaForCausalLM, GQA (4 heads, 2 kv heads, head dim 4), tied embeddings
  llama-prefix/            PREFIX_TUNING P=3, CAUSAL_LM                   expected: logits [2, 7, 50], greedy ids
  llama-prompt/            PROMPT_TUNING P=3, CAUSAL_LM                   expected: logits [2, 10, 50], greedy ids
  base-gpt2/, gpt2-prefix/ GPT2LMHeadModel, PREFIX_TUNING P=2             expected: logits, greedy ids

Greedy ids: 6 new tokens after prompt [1, 4], each the argmax of PeftModel's forward over the whole sequence so far
(no cache). Not PeftModel.generate: with peft 0.21.2 + transformers 5.24 generate silently drops the prefix and the
prompt (its first token is the base model's, measured: llama-prefix generate gives 10, the base model alone 10, the
PEFT forward 2), because generate now creates the cache itself and PEFT only adds the prefix when there is none.

BERT prefix tuning through PeftModel fails with transformers 5.24 ("Model does not support past key values":
BertModel.forward's parameter is now called cache). Its expected output is therefore computed the way PEFT's
prefix path would call the model: BertModel(input_ids, attention_mask=cat(ones(P), mask), cache=<the prefix as a
DynamicCache>), with the prefix from PeftModel.get_prompt. The adapter files are still PEFT's own save_pretrained.

With --stories DIR (the HF stories260K directory, ../shared/data/tinystories-260k), also
  cli/src/test/resources/prompt-fixtures/stories-prefix/   PREFIX_TUNING P=10 on stories260K (3,200 trainable),
                           expected.safetensors: greedy_ids, 20 new tokens after BOS (stopping at eos 2), by PEFT forward

Usage: make_peft_fixtures.py [--out DIR] [--stories DIR]
"""
import os
import sys

import torch
from peft import PeftModel, PrefixTuningConfig, PromptTuningConfig, get_peft_model
from safetensors.torch import save_file
from transformers import BertModel, DynamicCache, GPT2Config, GPT2LMHeadModel, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peft_fixtures import IDS, MASK, FixtureWriter, out_dir, perturb, tiny_bert_config, tiny_llama_config  # noqa: E402

W = FixtureWriter(out_dir("adapters", "src", "test", "resources", "prompt-fixtures"))
PROMPT = torch.tensor([[2, 7, 9, 13]], dtype=torch.long)


def bert_base():
    torch.manual_seed(0)
    cfg = tiny_bert_config()
    base = BertModel(cfg, add_pooling_layer=True).eval()
    W.save_base(base, "base-bert")
    return base


def fresh_bert():
    return BertModel.from_pretrained(W.path("base-bert")).eval()


def bert_prefix_expected(peft_model, base):
    p = peft_model.peft_config["default"].num_virtual_tokens
    cache = peft_model.get_prompt(batch_size=IDS.shape[0])
    if not isinstance(cache, DynamicCache):
        cache = DynamicCache.from_legacy_cache(cache)
    mask = torch.cat([torch.ones(IDS.shape[0], p, dtype=torch.long), MASK], dim=1)
    return base(input_ids=IDS, attention_mask=mask, cache=cache).last_hidden_state


def stories(directory, gen):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cli", "src", "test", "resources", "prompt-fixtures")
    with torch.no_grad():
        base = LlamaForCausalLM.from_pretrained(directory).eval()
        pm = get_peft_model(base, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=10)).eval()
        perturb(pm, gen)
        ids = torch.tensor([[1]], dtype=torch.long)
        for _ in range(20):
            step = pm(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
            ids = torch.cat([ids, step[:, -1:].argmax(-1)], dim=1)
            if ids[0, -1].item() == 2:
                break
        FixtureWriter(out).save_adapter(pm, "stories-prefix", {"greedy_ids": ids[:, 1:].long()})
        print("stories-prefix", ids[0, 1:].tolist(), pm.get_nb_trainable_parameters())


def main():
    gen = torch.Generator().manual_seed(1)
    save_file({"input_ids": IDS, "attention_mask": MASK, "prompt": PROMPT}, W.path("batch.safetensors"))

    bert_base()
    with torch.no_grad():
        for name, cfg in (("bert-prefix", PrefixTuningConfig(task_type="FEATURE_EXTRACTION", num_virtual_tokens=3)),
                          ("bert-prefix-projection", PrefixTuningConfig(task_type="FEATURE_EXTRACTION", num_virtual_tokens=3,
                                                                        prefix_projection=True, encoder_hidden_size=12))):
            base = fresh_bert()
            pm = get_peft_model(base, cfg).eval()
            perturb(pm, gen)
            expected = bert_prefix_expected(pm, base)
            W.save_adapter(pm, name, {"last_hidden_state": expected})
            print(name, tuple(expected.shape), pm.get_nb_trainable_parameters())

        base = fresh_bert()
        pm = get_peft_model(base, PromptTuningConfig(task_type="FEATURE_EXTRACTION", num_virtual_tokens=3)).eval()
        perturb(pm, gen)
        out = pm(input_ids=IDS, attention_mask=MASK).last_hidden_state
        W.save_adapter(pm, "bert-prompt", {"last_hidden_state": out})
        print("bert-prompt", tuple(out.shape), pm.get_nb_trainable_parameters())

        torch.manual_seed(2)
        lcfg = tiny_llama_config()
        W.save_base(LlamaForCausalLM(lcfg).eval(), "base-llama")
        torch.manual_seed(3)
        gcfg = GPT2Config(vocab_size=50, n_positions=32, n_embd=16, n_layer=2, n_head=2, initializer_range=0.4,
                          bos_token_id=0, eos_token_id=0)
        W.save_base(GPT2LMHeadModel(gcfg).eval(), "base-gpt2")

        for name, base_dir, cls, cfg in (
                ("llama-prefix", "base-llama", LlamaForCausalLM, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
                ("llama-prompt", "base-llama", LlamaForCausalLM, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3)),
                ("gpt2-prefix", "base-gpt2", GPT2LMHeadModel, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2))):
            base = cls.from_pretrained(W.path(base_dir)).eval()
            pm = get_peft_model(base, cfg).eval()
            perturb(pm, gen)
            logits = pm(input_ids=IDS, attention_mask=MASK).logits
            ids = PROMPT
            for _ in range(6):
                step = pm(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
                ids = torch.cat([ids, step[:, -1:].argmax(-1)], dim=1)
            new = ids[:, PROMPT.shape[1]:]
            hf_generate = pm.generate(input_ids=PROMPT, attention_mask=torch.ones_like(PROMPT), max_new_tokens=6, do_sample=False)
            print(name, "PeftModel.generate gives", hf_generate[:, PROMPT.shape[1]:].tolist(), "(see the docstring)")
            W.save_adapter(pm, name, {"logits": logits, "greedy_ids": new.long()})
            print(name, tuple(logits.shape), new.tolist(), pm.get_nb_trainable_parameters())

    if "--stories" in sys.argv:
        stories(sys.argv[sys.argv.index("--stories") + 1], gen)

    # round trip through PEFT's own loader: what was saved loads back with the same outputs
    with torch.no_grad():
        again = PeftModel.from_pretrained(fresh_bert(), W.path("bert-prompt")).eval()
        from safetensors.torch import load_file
        exp = load_file(W.path("bert-prompt", "expected.safetensors"))["last_hidden_state"]
        print("bert-prompt reload max diff", (again(input_ids=IDS, attention_mask=MASK).last_hidden_state - exp).abs().max().item())


if __name__ == "__main__":
    main()
