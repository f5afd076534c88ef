"""Writes a tiny BERT WordPiece tokenizer.json (60 tokens, uncased) into the tiny BERT model
directory (models/src/test/resources/tiny-bert/model/), the shape of bert-base-uncased's
tokenizer: BertNormalizer (lowercase), BertPreTokenizer, WordPiece with "##", and the
[CLS] A [SEP] / [CLS] A [SEP] B [SEP] template with type ids 0/1. Prints reference encodings
made by the HF `tokenizers` library, which TokenizerTest asserts.

    /work/pyenv/bin/python tools/bert/make_tiny_tokenizer.py
"""
import os

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
         "the", "a", "cat", "dog", "sat", "on", "mat", "is", "happy", "sad", "run", "##s", "##ing", "##ed",
         "play", ".", ",", "!", "?", "it", "was", "very", "and", "i", "you", "he", "she", "we", "they",
         "good", "bad", "big", "small", "hello", "world", "how", "are", "today", "fine", "this", "that",
         "with", "in", "to", "of", "jump", "walk", "talk", "##er", "##ly", "quick", "brown", "fox", "lazy", "over"]
assert len(VOCAB) == 60 and len(set(VOCAB)) == 60

tok = Tokenizer(WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]", max_input_chars_per_word=100))
tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
tok.post_processor = processors.TemplateProcessing(
    single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
    special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
tok.decoder = decoders.WordPiece(prefix="##")
for special in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]:
    tok.add_special_tokens([special])
out = os.path.join("models", "src", "test", "resources", "tiny-bert", "model", "tokenizer.json")
tok.save(out)

t = Tokenizer.from_file(out)
for text in ["The cat sat on the mat.", "Hello, world! The dogs are playing."]:
    e = t.encode(text)
    print(repr(text), e.ids, e.tokens)
e = t.encode("The quick brown fox", "jumped over the lazy dog!")
print("pair", e.ids, e.type_ids)
e = t.encode(["walking", "cats", "zebra"], is_pretokenized=True)
print("words", e.ids, e.word_ids)
