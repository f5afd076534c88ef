package dev.peft4j.runtime.merge;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.HfModelDirectory;
import dev.peft4j.models.ModelSources;
import dev.peft4j.models.Models;
import dev.peft4j.models.maven.MavenModelSource;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.train.TaskSetup;
import dev.peft4j.runtime.train.TrainingRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Merge and unload: a trained run (or a PEFT adapter directory) folded into its base model and written as a plain HF
 * model directory ({@code config.json}, {@code model.safetensors} with the base architecture's own names and shapes,
 * the base's tokenizer files), which {@code transformers} and {@code peft4j} load like any base model.
 *
 * <p>A run's head (its modules beside the backbone: {@code classifier}, ...) goes into {@link #RUN_DIRECTORY} under the
 * merged directory: a peft4j run directory whose method is {@code full} with the whole backbone frozen, so that
 * {@code model/trainable.safetensors} holds exactly the head's tensors; {@code peft4j predict} and {@code peft4j eval}
 * take it like any run, with {@code model.source} read as the merged directory ({@link #MARKER} says so).
 *
 * <p>Methods whose adapter folds into the weights ({@code canMerge()}: LoRA and its variants, IA3) are merged then
 * unloaded. Methods that train base weights in place (full fine-tuning, BitFit, LN tuning) need no merge. Methods that
 * add modules the base architecture does not have (prefix and prompt tuning, bottleneck adapters) are refused, naming
 * the parameters. Everything is written into a temporary directory that is renamed to the output at the end.
 */
public final class Merger {
    /** The head's run directory inside a merged model directory. */
    public static final String RUN_DIRECTORY = "peft4j-run";
    /** In {@link #RUN_DIRECTORY}: where the merged model came from; its presence makes {@code model.source} the parent. */
    public static final String MARKER = "merged.json";

    private Merger() {}

    /**
     * What was written.
     *
     * @param directory the merged model directory
     * @param method the method that was merged
     * @param headTensors the head's tensors written to {@link #RUN_DIRECTORY} (0: no head, no run directory)
     */
    public record Result(Path directory, String method, int headTensors) {}

    /**
     * Merges the finished run in {@code runDirectory} into its base ({@code base}, else the run's {@code model.source})
     * and writes it to {@code out}, which must not exist yet.
     */
    public static Result mergeRun(Peft4j peft4j, Path runDirectory, Optional<String> base, Path out) {
        requireNonNull(peft4j, "peft4j is null");
        requireNonNull(runDirectory, "runDirectory is null");
        requireNonNull(base, "base is null");
        checkOutput(out);
        Path resolved = runDirectory.resolve("resolved.conf");
        if (!Files.isRegularFile(resolved)) {
            throw new Peft4jException(runDirectory + " is not a run directory: resolved.conf is missing");
        }
        ValidatedExperiment trained = peft4j.experiment(resolved).validate();
        String runSource = trained.model().source();
        Path runBase = existingModel(runSource);
        ValidatedExperiment experiment = trained;
        if (base.isPresent()) {
            Path given = existingModel(base.get());
            if (given == null) {
                throw new Peft4jException("--base " + base.get() + ": no model there (config.json and model.safetensors expected)");
            }
            if (runBase != null) {
                compareShapes(runBase, runSource, given, base.get());
            }
            experiment = peft4j.experiment(resolved, "model.source=" + quote(base.get())).validate();
        } else if (runBase == null) {
            throw new Peft4jException("the run's base model " + runSource + " is missing (no config.json and model.safetensors there);"
                    + " pass --base MODEL with the model the run was trained on");
        }
        var injector = peft4j.injector();
        TaskSetup setup;
        try {
            setup = TrainingRunner.restore(experiment, injector.getInstance(ModelLoader.class), injector.getInstance(PluginContexts.class),
                    injector.getInstance(TensorFiles.class), runDirectory, false);
        } catch (Peft4jException e) {
            throw base.isPresent() ? new Peft4jException("the run's tensors do not fit --base " + base.get() + ": " + e.getMessage(), e) : e;
        }
        try (setup) {
            String method = experiment.method().name();
            foldIn(setup.adaptation(), method);
            TransformerModel backbone = setup.backbone();
            checkPlain(backbone, existingModel(experiment.model().source()), method);
            Map<String, NDArray> head = headTensors(setup);
            Path temp = temporary(out);
            try {
                Models.save(backbone, temp);
                if (!head.isEmpty()) {
                    writeHeadRun(setup, experiment, runDirectory, temp.resolve(RUN_DIRECTORY), out, head, injector.getInstance(TensorFiles.class));
                }
                Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                deleteTree(temp);
                throw e instanceof IOException io ? new Peft4jException("cannot write " + out + ": " + io.getMessage(), io) : (RuntimeException) e;
            }
            return new Result(out, method, head.size());
        }
    }

    /**
     * Merges the PEFT adapter in {@code adapterDirectory} (written by HF PEFT or by peft4j for a bare model: LoRA, IA3 or
     * LN tuning) into the model at {@code baseDirectory} and writes it to {@code out}.
     */
    public static Result mergeAdapter(Path adapterDirectory, Path baseDirectory, Device device, Path out) {
        requireNonNull(adapterDirectory, "adapterDirectory is null");
        checkOutput(out);
        if (existingModel(baseDirectory.toString()) == null) {
            throw new Peft4jException("--base " + baseDirectory + ": no model there (config.json and model.safetensors expected)");
        }
        try (TransformerModel model = Models.load(baseDirectory, device)) {
            Adaptation adaptation = dev.peft4j.runtime.AdapterFiles.load(model, adapterDirectory);
            foldIn(adaptation, adaptation.method());
            checkPlain(model, baseDirectory, adaptation.method());
            Path temp = temporary(out);
            try {
                Models.save(model, temp);
                Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                deleteTree(temp);
                throw e instanceof IOException io ? new Peft4jException("cannot write " + out + ": " + io.getMessage(), io) : (RuntimeException) e;
            }
            return new Result(out, adaptation.method(), 0);
        }
    }

    /** The {@code model.source} override for a run directory inside a merged model, if {@code runDirectory} is one. */
    public static Optional<String> sourceOverride(Path runDirectory) {
        if (!Files.isRegularFile(runDirectory.resolve(MARKER))) {
            return Optional.empty();
        }
        return Optional.of("model.source=" + quote(runDirectory.toAbsolutePath().normalize().getParent().toString()));
    }

    private static void foldIn(Adaptation adaptation, String method) {
        if (adaptation.canMerge()) {
            adaptation.merge();
            adaptation.unload();
        }
    }

    /** After merging, the backbone must have exactly the base architecture's parameters; anything else cannot be merged. */
    private static void checkPlain(TransformerModel merged, Path baseDirectory, String method) {
        Map<String, Shape> expected = shapes(baseDirectory);
        Map<String, Parameter> actual = merged.module().namedParameters();
        List<String> extra = actual.keySet().stream().filter(k -> !expected.containsKey(k)).toList();
        if (!extra.isEmpty()) {
            throw new Peft4jException("method " + method + " cannot be merged into the base weights: it adds " + extra.size()
                    + " tensors the base architecture does not have (" + String.join(", ", extra.subList(0, Math.min(3, extra.size())))
                    + (extra.size() > 3 ? ", ..." : "") + "), which change the forward pass rather than a weight."
                    + " Methods that merge: lora (rsLoRA, DoRA), ia3; trained in place: full, bitfit, layernorm-tuning."
                    + " Use the run directory with its adapter instead (peft4j predict RUN_DIR)");
        }
        for (Map.Entry<String, Parameter> e : actual.entrySet()) {
            Shape want = expected.get(e.getKey());
            if (!want.equals(e.getValue().shape())) {
                throw new Peft4jException("merged tensor " + e.getKey() + " has shape " + e.getValue().shape() + " but the base model "
                        + baseDirectory + " has " + want);
            }
        }
    }

    /** Refuses a base whose parameters differ in name or shape from those the run was trained on, naming both shapes. */
    private static void compareShapes(Path runBase, String runSource, Path given, String givenSource) {
        Map<String, Shape> a = shapes(runBase);
        Map<String, Shape> b = shapes(given);
        for (Map.Entry<String, Shape> e : a.entrySet()) {
            Shape other = b.get(e.getKey());
            if (other == null) {
                throw new Peft4jException("--base " + givenSource + " differs from the run's base " + runSource + ": it has no tensor "
                        + e.getKey() + " (shape " + e.getValue() + " in the run's base)");
            }
            if (!other.equals(e.getValue())) {
                throw new Peft4jException("--base " + givenSource + " differs from the run's base " + runSource + ": " + e.getKey()
                        + " has shape " + other + " there but " + e.getValue() + " in the run's base");
            }
        }
    }

    private static Map<String, Shape> shapes(Path modelDirectory) {
        Map<String, Shape> out = new LinkedHashMap<>();
        try (TransformerModel m = Models.load(modelDirectory, Device.cpu())) {
            m.module().namedParameters().forEach((k, p) -> out.put(k, p.shape()));
        }
        return out;
    }

    /** The head's own tensors (the task root's parameters under the head's modules), by their task-model names. */
    private static Map<String, NDArray> headTensors(TaskSetup setup) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        List<String> headModules = new ArrayList<>(setup.taskModel().head().modules().keySet());
        setup.taskModel().root().namedParameters().forEach((name, p) -> {
            if (headModules.stream().anyMatch(m -> name.startsWith(m + "."))) {
                out.put(name, p.value());
            }
        });
        return out;
    }

    private static void writeHeadRun(TaskSetup setup, ValidatedExperiment experiment, Path runDirectory, Path target, Path finalModel,
            Map<String, NDArray> head, TensorFiles files) throws IOException {
        Files.createDirectories(target.resolve("model"));
        List<String> frozen = new ArrayList<>();
        List<String> headModules = new ArrayList<>(setup.taskModel().head().modules().keySet());
        for (String child : setup.taskModel().root().children().keySet()) {
            if (!headModules.contains(child)) {
                frozen.add(child);
            }
        }
        Map<String, Object> method = new LinkedHashMap<>();
        method.put("name", "full");
        method.put("freeze", frozen);
        Config config = experiment.config()
                .withValue("method", ConfigValueFactory.fromMap(method))
                .withValue("model.source", ConfigValueFactory.fromAnyRef(finalModel.toAbsolutePath().normalize().toString()))
                .withValue("model.keep-layers", ConfigValueFactory.fromIterable(List.of()))
                .withValue("objectives", ConfigValueFactory.fromIterable(List.of()))
                .withValue("teacher.run", ConfigValueFactory.fromAnyRef(null))
                .withValue("teacher.source", ConfigValueFactory.fromAnyRef(null));
        Files.writeString(target.resolve("resolved.conf"), "# merged from " + runDirectory.toAbsolutePath().normalize()
                + " (method " + experiment.method().name() + "); model.source is the directory above this one\n"
                + config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false)), StandardCharsets.UTF_8);
        Path labels = runDirectory.resolve("labels.json");
        if (Files.isRegularFile(labels)) {
            Files.copy(labels, target.resolve("labels.json"));
        }
        files.write(target.resolve(TrainingRunner.TRAINED_FILE), head, Map.of("format", "pt", "peft4j.method", "full"));
        JsonObject marker = new JsonObject();
        marker.addProperty("merged_from", runDirectory.toAbsolutePath().normalize().toString());
        marker.addProperty("method", experiment.method().name());
        marker.addProperty("base", experiment.model().source());
        Files.writeString(target.resolve(MARKER), new GsonBuilder().setPrettyPrinting().create().toJson(marker) + "\n", StandardCharsets.UTF_8);
        // last: the head's run directory is a finished run, which eval and predict check for
        TrainingRunner.writeCompleteMarker(target, completedSteps(runDirectory));
    }

    /** The steps of the source run's completion marker (0 when it has none: a run written before markers existed). */
    private static long completedSteps(Path runDirectory) {
        try {
            Path marker = runDirectory.resolve(TrainingRunner.COMPLETE_MARKER);
            if (Files.isRegularFile(marker)) {
                JsonObject o = com.google.gson.JsonParser.parseString(Files.readString(marker)).getAsJsonObject();
                if (o.has("steps") && o.get("steps").isJsonPrimitive()) {
                    return o.get("steps").getAsLong();
                }
            }
        } catch (IOException | RuntimeException e) {
            // the source was checked finished before merging; a marker without steps gives 0
        }
        return 0;
    }

    /** The HF directory of a model source, or null when nothing is there. Maven sources are imported (once). */
    private static Path existingModel(String source) {
        Path dir;
        try {
            dir = MavenModelSource.isMavenSource(source) ? ModelSources.resolve(source) : Path.of(source);
        } catch (RuntimeException e) {
            return null;
        }
        return Files.isRegularFile(dir.resolve(HfModelDirectory.CONFIG)) && Files.isRegularFile(dir.resolve(HfModelDirectory.WEIGHTS))
                ? dir : null;
    }

    private static void checkOutput(Path out) {
        requireNonNull(out, "out is null");
        if (Files.exists(out)) {
            throw new Peft4jException("--out " + out + " already exists; give a new directory (merge never overwrites)");
        }
    }

    private static Path temporary(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        Path temp = abs.resolveSibling("." + abs.getFileName() + ".merge-tmp-" + Long.toUnsignedString(System.nanoTime(), 36));
        try {
            Files.createDirectories(temp);
        } catch (IOException e) {
            throw new Peft4jException("cannot create " + temp + ": " + e.getMessage(), e);
        }
        return temp;
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(x -> {
                try {
                    Files.delete(x);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // best effort: a leftover temporary directory is named as such
        }
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
