/**
 * The {@code peft4j} command line ({@link dev.peft4j.cli.Peft4jCli}): {@code inspect} and {@code encode}
 * on a model given as an HF directory or {@code maven:GROUP:ARTIFACT:VERSION}.
 */
package dev.peft4j.cli;
