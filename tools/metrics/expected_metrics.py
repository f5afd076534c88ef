"""Computes the expected values hard-coded in runtime/src/test/.../metrics/*Test.java.

Run once with scikit-learn, SciPy and seqeval installed:  python tools/metrics/expected_metrics.py
The inputs below are the same literals as in the Java tests.
"""
import math
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
from scipy.stats import pearsonr, spearmanr
from seqeval.metrics import classification_report, precision_score, recall_score, f1_score as seq_f1
from seqeval.metrics.sequence_labeling import get_entities

BIN_GOLD = [0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1]
BIN_PRED = [0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1]
MC_GOLD = [0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 1, 2, 2, 0]
MC_PRED = [0, 2, 2, 1, 1, 0, 3, 2, 1, 0, 2, 0, 1, 1, 2, 0]
X = [1.0, 2.5, 2.5, 3.0, 4.2, 4.2, 4.2, 5.0, 0.5, 3.3, 2.0, 6.1]
Y = [0.8, 2.0, 3.1, 3.1, 3.9, 5.2, 4.0, 4.4, 1.1, 3.1, 1.5, 5.9]
SEQ_GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["I-ORG", "I-ORG", "O", "B-MISC", "I-MISC", "I-MISC"],
    ["O", "B-PER", "B-PER", "I-LOC", "O"],
    ["B-LOC", "O", "O", "B-ORG", "I-ORG"],
]
SEQ_PRED = [
    ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"],
    ["B-ORG", "I-ORG", "O", "B-MISC", "I-MISC", "O"],
    ["O", "I-PER", "B-PER", "I-PER", "O"],
    ["B-LOC", "O", "I-ORG", "I-ORG", "I-ORG"],
]

print("accuracy", repr(accuracy_score(BIN_GOLD, BIN_PRED)))
print("f1 binary", repr(f1_score(BIN_GOLD, BIN_PRED)))
print("f1 binary pos0", repr(f1_score(BIN_GOLD, BIN_PRED, pos_label=0)))
print("mcc binary", repr(matthews_corrcoef(BIN_GOLD, BIN_PRED)))
print("mc accuracy", repr(accuracy_score(MC_GOLD, MC_PRED)))
print("mc macro f1", repr(f1_score(MC_GOLD, MC_PRED, average="macro")))
print("mc mcc", repr(matthews_corrcoef(MC_GOLD, MC_PRED)))
print("mcc constant pred", repr(matthews_corrcoef(BIN_GOLD, [1] * len(BIN_GOLD))))
print("pearson", repr(pearsonr(X, Y)[0]))
print("spearman", repr(spearmanr(X, Y)[0]))
for s in SEQ_GOLD + SEQ_PRED:
    print("entities", s, get_entities(s))
print("seqeval micro p", repr(precision_score(SEQ_GOLD, SEQ_PRED)))
print("seqeval micro r", repr(recall_score(SEQ_GOLD, SEQ_PRED)))
print("seqeval micro f1", repr(seq_f1(SEQ_GOLD, SEQ_PRED)))
print("seqeval macro f1", repr(seq_f1(SEQ_GOLD, SEQ_PRED, average="macro")))
print(classification_report(SEQ_GOLD, SEQ_PRED, digits=10))
print("perplexity of 2.3", repr(math.exp(2.3)))
