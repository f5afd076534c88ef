package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import dev.peft4j.models.safetensors.TensorEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A smaller model made from some of a checkpoint's own layers, DistilBERT's student initialisation
 * (the student takes every other layer of the teacher). Layer {@code keep[i]} of the checkpoint becomes
 * layer {@code i} of the new model; everything outside the layer stack (embeddings, final norm, pooler,
 * {@code lm_head}) is kept as it is, and the config's layer count becomes {@code keep.size()}.
 *
 * <p>It is done on the checkpoint, not on a loaded tree: an HF directory with the renamed tensors (raw
 * bytes, not decoded) and the edited {@code config.json} is written and loaded by the architecture's own
 * strict loader, so every architecture in the table below gets the same checks as a normal load.
 */
public final class LayerSubset {
    /** Where an architecture keeps its layer count and how its layers' tensors are named. */
    private record Layout(String countKey, Pattern layerName) {}

    private static final Map<String, Layout> LAYOUTS = Map.of(
            "bert", new Layout("num_hidden_layers", Pattern.compile("^(.*\\bencoder\\.layer\\.)(\\d+)(\\..*)$")),
            "llama", new Layout("num_hidden_layers", Pattern.compile("^(.*\\blayers\\.)(\\d+)(\\..*)$")),
            "gpt2", new Layout("n_layer", Pattern.compile("^(.*\\bh\\.)(\\d+)(\\..*)$")));

    private LayerSubset() {}

    /**
     * Checks {@code keep} (the setting named {@code key}) against the checkpoint: non-empty, strictly
     * increasing, each in {@code [0, layers)}. Returns the checkpoint's layer count.
     */
    public static int check(ModelConfig config, List<Integer> keep, String key) {
        requireNonNull(keep, "keep is null");
        Layout layout = layout(config, key);
        int layers = config.integer(layout.countKey());
        List<String> problems = new ArrayList<>(checkOrder(keep));
        for (int layer : keep) {
            if (layer >= layers) {
                problems.add("layer " + layer + " does not exist: " + config.source() + " has " + layers + " layers (0.." + (layers - 1) + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException(key + " = " + keep + ": " + String.join("; ", problems));
        }
        return layers;
    }

    /** Problems of the list alone (usable before the checkpoint is read): empty, negative, unsorted or repeated entries. */
    public static List<String> checkOrder(List<Integer> keep) {
        List<String> problems = new ArrayList<>();
        if (keep.isEmpty()) {
            problems.add("is empty, expected at least one layer index");
        }
        for (int i = 0; i < keep.size(); i++) {
            if (keep.get(i) < 0) {
                problems.add("contains " + keep.get(i) + ", expected layer indices >= 0");
            }
            if (i > 0 && keep.get(i) <= keep.get(i - 1)) {
                problems.add("is not strictly increasing (" + keep.get(i - 1) + " then " + keep.get(i)
                        + "), expected sorted layer indices without repeats, e.g. [0, 2, 4]");
            }
        }
        return problems;
    }

    /**
     * Writes into {@code target} an HF directory holding the subset: {@code config.json} with the new layer
     * count, {@code model.safetensors} with the kept layers renumbered, and the source's tokenizer files.
     */
    public static void write(Path source, List<Integer> keep, Path target, String key) {
        HfModelDirectory directory = HfModelDirectory.open(source);
        ModelConfig config = directory.config();
        check(config, keep, key);
        Layout layout = layout(config, key);
        Map<Integer, Integer> renumber = new LinkedHashMap<>();
        for (int i = 0; i < keep.size(); i++) {
            renumber.put(keep.get(i), i);
        }
        try {
            Files.createDirectories(target);
            Map<String, Object> values = new LinkedHashMap<>(config.values());
            values.put(layout.countKey(), keep.size());
            try (Writer w = Files.newBufferedWriter(target.resolve(HfModelDirectory.CONFIG), StandardCharsets.UTF_8)) {
                HfModelDirectory.GSON.toJson(values, w);
                w.write('\n');
            }
            try (SafetensorsFile file = SafetensorsFile.open(directory.weightsFile())) {
                List<SafetensorsWriter.RawTensor> kept = new ArrayList<>();
                for (String name : file.names()) {
                    Matcher m = layout.layerName().matcher(name);
                    String newName = name;
                    if (m.matches()) {
                        Integer index = renumber.get(Integer.parseInt(m.group(2)));
                        if (index == null) {
                            continue; // a dropped layer
                        }
                        newName = m.group(1) + index + m.group(3);
                    }
                    TensorEntry e = file.entry(name);
                    kept.add(new SafetensorsWriter.RawTensor(newName, e.dtype(), e.shape(), file.rawBytes(name)));
                }
                SafetensorsWriter.writeRaw(target.resolve(HfModelDirectory.WEIGHTS), kept, file.metadata());
            }
            for (String name : HfModelDirectory.TOKENIZER_FILES) {
                Path file = directory.path().resolve(name);
                if (Files.isRegularFile(file)) {
                    Files.copy(file, target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot write the " + key + " subset of " + source + " to " + target + ": " + e.getMessage(), e);
        }
    }

    /** Loads the subset of the checkpoint in {@code source}, through a temporary directory that is deleted afterwards. */
    public static TransformerModel load(Path source, List<Integer> keep, Device device, String key) {
        Path temp;
        try {
            temp = Files.createTempDirectory("peft4j-keep-layers-");
        } catch (IOException e) {
            throw new Peft4jException("cannot create a temporary directory for " + key + ": " + e.getMessage(), e);
        }
        try {
            write(source, keep, temp, key);
            Engines.pytorch();
            HfModelDirectory subset = HfModelDirectory.open(temp);
            // the kept layers' config, named after the source's config.json: the temporary directory is gone once
            // this returns, and the source is where messages should point and where Models.save finds the tokenizer
            ModelConfig config = new ModelConfig(subset.config().values(), HfModelDirectory.open(source).path().resolve(HfModelDirectory.CONFIG).toString());
            return Architectures.loader(config).load(subset, config, device);
        } finally {
            deleteTree(temp);
        }
    }

    private static Layout layout(ModelConfig config, String key) {
        Layout layout = LAYOUTS.get(config.modelType());
        if (layout == null) {
            throw new Peft4jException(key + ": model_type \"" + config.modelType() + "\" (" + config.source()
                    + ") has no known layer layout; layers can be kept from " + LAYOUTS.keySet().stream().sorted().toList());
        }
        return layout;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // a leftover temporary directory is not worth failing a load for
        }
    }
}
