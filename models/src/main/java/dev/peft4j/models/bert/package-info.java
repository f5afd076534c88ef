/**
 * BERT-family encoders (BERT, MiniLM, BGE, E5; HF {@code model_type} {@code bert}) as a module tree
 * with exactly HF {@code BertModel}'s names, and their strict loading from HF checkpoints.
 */
package dev.peft4j.models.bert;
