/**
 * The built-in task heads, registered as the {@code peft4j-heads} plugin: sequence classification
 * (single sentences and pairs), regression, multi-label classification, token classification and causal language modelling.
 * Their modules carry HuggingFace names ({@code dropout}, {@code classifier}) at the task-model root.
 */
package dev.peft4j.heads;
