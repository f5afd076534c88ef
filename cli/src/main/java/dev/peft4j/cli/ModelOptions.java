package dev.peft4j.cli;

import ai.djl.Device;
import dev.peft4j.models.Engines;
import dev.peft4j.models.ModelSources;
import dev.peft4j.models.maven.MavenModelSource;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The model argument and the options every model command shares. */
final class ModelOptions {
    @Parameters(index = "0", paramLabel = "MODEL",
            description = "An HF model directory (config.json, model.safetensors, tokenizer.json) or maven:GROUP:ARTIFACT:VERSION.")
    String model;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or gpu:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--cache", paramLabel = "DIR",
            description = "Where maven: models are imported (default: -Dpeft4j.cache, else ~/.cache/peft4j/models).")
    Path cache;

    Path directory() {
        return ModelSources.resolve(model, cache != null ? cache : MavenModelSource.defaultCacheRoot());
    }

    Device device() {
        return Engines.device(device);
    }
}
