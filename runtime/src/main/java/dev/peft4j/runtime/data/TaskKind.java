package dev.peft4j.runtime.data;

/**
 * How labels are encoded for a head: a class id, a number, a multi-hot vector, per-token class ids, or
 * (causal LM) the input ids themselves with -100 where nothing is trained.
 */
public enum TaskKind {
    CLASSIFICATION,
    REGRESSION,
    MULTI_LABEL,
    TOKEN_CLASSIFICATION,
    CAUSAL_LM,
    /** Extractive QA: the answer's start and end token positions in each window of question + context. */
    QUESTION_ANSWERING
}
