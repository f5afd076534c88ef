#!/usr/bin/env python3
"""Builds a SQuAD v1.1-format extractive QA set from CoNLL-2003 (no SQuAD-format set ships in a Maven or PyPI package
that we found: see docs/question-answering.md).

Contexts are real Reuters text: consecutive sentences of one CoNLL document (tokens joined by single spaces) up to
--max-words words. For each entity type present in a context there is one question (templates below); every mention of
that type is a gold answer (SQuAD scores the best), the first one is the training target. Deterministic; standard library only.

    python3 tools/qa/conll_to_squad.py ../shared/data/conll2003/train.txt /tmp/conll-qa/train.json
    python3 tools/qa/conll_to_squad.py ../shared/data/conll2003/valid.txt /tmp/conll-qa/dev.json
"""
import argparse
import json
import os

QUESTIONS = {
    "PER": "Which person is mentioned?",
    "LOC": "Which place is mentioned?",
    "ORG": "Which organisation is mentioned?",
    "MISC": "Which nationality, event or other name is mentioned?",
}


def documents(path):
    doc, sentence = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("-DOCSTART-"):
                if sentence:
                    doc.append(sentence)
                    sentence = []
                if doc:
                    yield doc
                doc = []
            elif not line.strip():
                if sentence:
                    doc.append(sentence)
                    sentence = []
            else:
                parts = line.split()
                sentence.append((parts[0], parts[-1]))
    if sentence:
        doc.append(sentence)
    if doc:
        yield doc


def paragraphs(doc, max_words):
    chunk = []
    for sentence in doc:
        if chunk and sum(len(s) for s in chunk) + len(sentence) > max_words:
            yield chunk
            chunk = []
        chunk.append(sentence)
    if chunk:
        yield chunk


def entities(tokens):
    """(type, first token, last token) spans from IOB tags (IOB1 or IOB2)."""
    spans, start, kind = [], None, None
    for i, (_, tag) in enumerate(tokens + [("", "O")]):
        prefix, _, t = tag.partition("-")
        if start is not None and (tag == "O" or prefix == "B" or t != kind):
            spans.append((kind, start, i - 1))
            start, kind = None, None
        if tag != "O" and start is None:
            start, kind = i, t
    return spans


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("conll")
    ap.add_argument("out")
    ap.add_argument("--max-words", type=int, default=120)
    args = ap.parse_args()
    data, questions = [], 0
    name = os.path.basename(args.conll).split(".")[0]
    for d, doc in enumerate(documents(args.conll)):
        paras = []
        for p, chunk in enumerate(paragraphs(doc, args.max_words)):
            tokens = [t for s in chunk for t in s]
            offsets, context = [], ""
            for word, _ in tokens:
                if context:
                    context += " "
                offsets.append(len(context))
                context += word
            by_type = {}
            for kind, a, b in entities(tokens):
                start = offsets[a]
                text = context[start:offsets[b] + len(tokens[b][0])]
                by_type.setdefault(kind, []).append({"text": text, "answer_start": start})
            qas = []
            for kind in ("PER", "LOC", "ORG", "MISC"):
                if kind in by_type:
                    qas.append({"id": f"{name}-{d}-{p}-{kind}", "question": QUESTIONS[kind], "answers": by_type[kind]})
            if qas:
                paras.append({"context": context, "qas": qas})
                questions += len(qas)
        if paras:
            data.append({"title": f"{name}-{d}", "paragraphs": paras})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"version": "1.1", "data": data}, f)
    print(f"{args.out}: {len(data)} documents, {questions} questions")


if __name__ == "__main__":
    main()
