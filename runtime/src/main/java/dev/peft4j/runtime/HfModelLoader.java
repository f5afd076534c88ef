package dev.peft4j.runtime;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.Engines;
import dev.peft4j.models.HfModelDirectory;
import dev.peft4j.models.LayerSubset;
import dev.peft4j.models.Models;
import dev.peft4j.models.RandomInit;
import dev.peft4j.models.maven.MavenModelSource;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import dev.peft4j.runtime.config.ModelSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Loads HF model directories, and {@code maven:} sources imported into the local cache. */
public final class HfModelLoader implements ModelLoader {
    @Override
    public LoadedModel load(ModelSettings settings) {
        Path directory = MavenModelSource.isMavenSource(settings.source()) ? new MavenModelSource().resolve(settings.source())
                : Path.of(settings.source());
        if (!Files.isDirectory(directory)) {
            throw new Peft4jException("model.source '" + settings.source() + "' is not a directory (expected an HF model directory"
                    + " or maven:GROUP:ARTIFACT:VERSION)");
        }
        TransformerModel model = settings.keepLayers().isEmpty() ? Models.load(directory, Engines.device(settings.device()))
                : LayerSubset.load(directory, settings.keepLayers(), Engines.device(settings.device()), "model.keep-layers");
        if (settings.randomInit()) {
            RandomInit.reinitialize(model, settings.initSeed());
        }
        Path tokenizerFile = directory.resolve(HfModelDirectory.TOKENIZER);
        TextTokenizer tokenizer = Files.isRegularFile(tokenizerFile) ? HfTextTokenizer.open(tokenizerFile) : null;
        return new LoadedModel(model, Optional.ofNullable(tokenizer));
    }
}
