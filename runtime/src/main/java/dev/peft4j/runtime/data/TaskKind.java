package dev.peft4j.runtime.data;

/** How labels are encoded for a head: a class id, a number, a multi-hot vector, or per-token class ids. */
public enum TaskKind {
    CLASSIFICATION,
    REGRESSION,
    MULTI_LABEL,
    TOKEN_CLASSIFICATION
}
