package dev.peft4j.spark;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.tokenizer.SentenceEmbeddings;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.Fields;
import dev.peft4j.runtime.data.TaskKind;
import dev.peft4j.runtime.data.TokenizedDataset;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.train.Evaluation;
import dev.peft4j.runtime.train.Evaluator;
import dev.peft4j.runtime.train.TaskSetup;
import dev.peft4j.runtime.train.TrainingRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A finished run restored once in this JVM: the host, the base model with the trained adapter and head,
 * the tokenizer and the labels, restored exactly as {@code peft4j predict} restores them (the run's
 * {@code resolved.conf} validated by the host, then {@link TrainingRunner#restore}).
 *
 * <p>Batches run one at a time (the methods are synchronized): torch already spreads one forward pass
 * over the JVM's cores ({@code -Dpeft4j.threads}), and one model serves every task of the executor.
 */
final class LoadedRun implements AutoCloseable {
    /** What a prediction of one text is: its label and the label's probability. */
    record Prediction(String label, float score) {}

    private final Path runDirectory;
    private final Peft4j host;
    private final TaskSetup setup;

    private LoadedRun(Path runDirectory, Peft4j host, TaskSetup setup) {
        this.runDirectory = runDirectory;
        this.host = host;
        this.setup = setup;
    }

    /**
     * Restores {@code runDirectory}. {@code overrides} change its resolved.conf (for example
     * {@code model.device=cpu} or {@code model.source=/shared/models/minilm}).
     */
    static LoadedRun open(Path runDirectory, Path pluginDirectory, List<String> overrides) {
        requireNonNull(runDirectory, "runDirectory is null");
        Path resolved = runDirectory.resolve("resolved.conf");
        if (!Files.isRegularFile(resolved)) {
            throw new Peft4jException(runDirectory + " is not a run directory: resolved.conf is missing");
        }
        Peft4j.Builder builder = Peft4j.builder().hostClassLoader(LoadedRun.class.getClassLoader());
        if (pluginDirectory != null) {
            builder.pluginDir(pluginDirectory);
        }
        Peft4j host = builder.build();
        try {
            ValidatedExperiment experiment = host.experiment(resolved, overrides.toArray(String[]::new)).validate();
            var injector = host.injector();
            TaskSetup setup = TrainingRunner.restore(experiment, injector.getInstance(ModelLoader.class), injector.getInstance(PluginContexts.class),
                    injector.getInstance(TensorFiles.class), runDirectory, false);
            return new LoadedRun(runDirectory, host, setup);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    TaskKind kind() {
        return setup.kind();
    }

    /** Classification: the label and its probability for each text, in order (the code path of {@code peft4j predict}). */
    synchronized List<Prediction> predict(List<String> texts, int batchSize) {
        if (setup.kind() != TaskKind.CLASSIFICATION) {
            throw new Peft4jException(runDirectory + " is a " + setup.kind().toString().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                    + " run: Peft4jSpark.predict supports classification runs (prediction = label, score = its probability);"
                    + " use encode for embeddings");
        }
        TokenizedDataset data = TokenizedDataset.encode(examples(texts), setup.tokenizer(), setup.maxLength(), setup.kind(), setup.vocabulary(), false);
        Evaluation e = Evaluator.evaluate(setup.taskModel(), data, batchSize, setup.padId());
        List<Prediction> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            int label = (Integer) e.predictions().get(i);
            out.add(new Prediction(setup.vocabulary().label(label), e.scores().get(i)[label]));
        }
        return out;
    }

    /**
     * The attention-masked mean of the adapted backbone's last hidden state, L2-normalised (what
     * {@code peft4j encode} gives for a base model), for each text in order.
     */
    synchronized List<float[]> encode(List<String> texts, int batchSize) {
        TokenizedDataset data = TokenizedDataset.encode(examples(texts), setup.tokenizer(), setup.maxLength(), setup.kind(), setup.vocabulary(), false);
        float[][] out = new float[texts.size()][];
        for (Batch batch : new Batcher(data, batchSize, 1, setup.padId()).evaluation()) {
            try (NDManager step = setup.backbone().manager().newSubManager()) {
                ModelInput input = batch.input(step);
                ModelOutput output = setup.backbone().forward(input, ForwardContext.inference(step));
                // virtual tokens (prompt tuning) lengthen the output: pool with the output's own mask
                NDArray embeddings = SentenceEmbeddings.meanPooledNormalized(output, output.attentionMask(input));
                float[] values = embeddings.toFloatArray();
                int dim = (int) embeddings.getShape().get(1);
                for (int i = 0; i < batch.size(); i++) {
                    out[batch.examples().get(i).index()] = Arrays.copyOfRange(values, i * dim, (i + 1) * dim);
                }
            }
        }
        return Arrays.asList(out);
    }

    private List<Example> examples(List<String> texts) {
        List<Example> examples = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            examples.add(new Example(Map.of(Fields.TEXT, text, Fields.TOKENS, List.of(text.strip().split("\\s+"))), "row " + (i + 1)));
        }
        return examples;
    }

    @Override
    public void close() {
        try {
            setup.close();
        } finally {
            host.close();
        }
    }
}
