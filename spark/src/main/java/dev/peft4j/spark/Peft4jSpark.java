package dev.peft4j.spark;

import static java.util.Objects.requireNonNull;

import dev.peft4j.models.Engines;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Batch inference with a finished peft4j run on Apache Spark:
 *
 * <pre>{@code
 * Dataset<Row> scored = Peft4jSpark.predict(reviews, "/shared/runs/sst2-lora", "sentence");   // + prediction, score
 * Dataset<Row> vectors = Peft4jSpark.encode(reviews, "/shared/runs/sst2-lora", "sentence");   // + embedding
 * }</pre>
 *
 * Each executor JVM loads the run (base model, adapter, head, tokenizer, labels) once, on the first task
 * that needs it, and keeps it for every later partition and job; the rows of a partition are scored in
 * batches of {@link Options#batchSize()}. The run directory must be readable at the same path on every
 * executor (a shared file system, or {@code spark-submit --files}/{@code --archives}: docs/spark.md).
 * A null text gives null columns.
 */
public final class Peft4jSpark {
    /** The added columns. */
    public static final String PREDICTION = "prediction";
    public static final String SCORE = "score";
    public static final String EMBEDDING = "embedding";

    private Peft4jSpark() {}

    /**
     * How a job loads and runs the model.
     *
     * @param batchSize rows per forward pass (default 32, as {@code peft4j predict})
     * @param pluginDirectory third-party plugin jars, readable on every executor, or null
     * @param overrides {@code key=value} changes to the run's resolved.conf, e.g. {@code model.device=cpu}
     */
    public record Options(int batchSize, String pluginDirectory, List<String> overrides) implements Serializable {
        private static final long serialVersionUID = 1L;

        public Options {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
            }
            overrides = List.copyOf(requireNonNull(overrides, "overrides is null"));
        }

        public static Options defaults() {
            return new Options(32, null, List.of());
        }

        public Options withBatchSize(int n) {
            return new Options(n, pluginDirectory, overrides);
        }

        public Options withPluginDirectory(String dir) {
            return new Options(batchSize, dir, overrides);
        }

        public Options withOverrides(String... keyValues) {
            return new Options(batchSize, pluginDirectory, List.of(keyValues));
        }
    }

    /** {@code input} with {@code prediction} (the label, string) and {@code score} (its probability, float) added. */
    public static Dataset<Row> predict(Dataset<Row> input, String runDirectory, String textColumn) {
        return predict(input, runDirectory, textColumn, Options.defaults());
    }

    public static Dataset<Row> predict(Dataset<Row> input, String runDirectory, String textColumn, Options options) {
        StructType schema = input.schema();
        int text = textColumn(schema, textColumn);
        StructType out = added(schema, new StructField(PREDICTION, DataTypes.StringType, true, org.apache.spark.sql.types.Metadata.empty()),
                new StructField(SCORE, DataTypes.FloatType, true, org.apache.spark.sql.types.Metadata.empty()));
        return input.mapPartitions(new Scorer(Mode.PREDICT, requireNonNull(runDirectory, "runDirectory is null"), text, options), Encoders.row(out));
    }

    /** {@code input} with {@code embedding} (array of float: mean-pooled, L2-normalised last hidden state of the adapted model) added. */
    public static Dataset<Row> encode(Dataset<Row> input, String runDirectory, String textColumn) {
        return encode(input, runDirectory, textColumn, Options.defaults());
    }

    public static Dataset<Row> encode(Dataset<Row> input, String runDirectory, String textColumn, Options options) {
        StructType schema = input.schema();
        int text = textColumn(schema, textColumn);
        StructType out = added(schema, new StructField(EMBEDDING, DataTypes.createArrayType(DataTypes.FloatType, false), true,
                org.apache.spark.sql.types.Metadata.empty()));
        return input.mapPartitions(new Scorer(Mode.ENCODE, requireNonNull(runDirectory, "runDirectory is null"), text, options), Encoders.row(out));
    }

    /** How many times this JVM loaded {@code runDirectory} (in local mode the driver is the executor). */
    public static int loadsInThisJvm(String runDirectory) {
        return RunCache.loads(runDirectory);
    }

    /** Closes the runs loaded in this JVM (in local mode, the driver's). */
    public static void unloadAll() {
        RunCache.clear();
    }

    static int textColumn(StructType schema, String name) {
        requireNonNull(name, "textColumn is null");
        List<String> names = Arrays.asList(schema.fieldNames());
        int index = names.indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("text column \"" + name + "\" is not in the dataset; its columns are " + names);
        }
        DataType type = schema.fields()[index].dataType();
        if (!type.equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("text column \"" + name + "\" is " + type.simpleString()
                    + ", expected string (cast it: col(\"" + name + "\").cast(\"string\"))");
        }
        return index;
    }

    private static StructType added(StructType schema, StructField... fields) {
        StructType out = schema;
        for (StructField f : fields) {
            if (Arrays.asList(schema.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("the dataset already has a column \"" + f.name() + "\"; rename or drop it first");
            }
            out = out.add(f);
        }
        return out;
    }

    enum Mode { PREDICT, ENCODE }

    /** The per-partition work: rows in, the same rows with the new columns out, scored a batch at a time. */
    static final class Scorer implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Mode mode;
        private final String runDirectory;
        private final int textIndex;
        private final Options options;

        Scorer(Mode mode, String runDirectory, int textIndex, Options options) {
            this.mode = mode;
            this.runDirectory = runDirectory;
            this.textIndex = textIndex;
            this.options = requireNonNull(options, "options is null");
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            return new Iterator<>() {
                private Iterator<Row> batch = java.util.Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    if (!batch.hasNext() && rows.hasNext()) {
                        batch = score(chunk(rows)).iterator();
                    }
                    return batch.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return batch.next();
                }
            };
        }

        private List<Row> chunk(Iterator<Row> rows) {
            List<Row> chunk = new ArrayList<>(options.batchSize());
            while (rows.hasNext() && chunk.size() < options.batchSize()) {
                chunk.add(rows.next());
            }
            return chunk;
        }

        private List<Row> score(List<Row> chunk) {
            // a Spark task thread has torch's default grad mode (on): inference must not record graphs, and restoring the
            // run copies into its parameters in place
            Engines.noGradOnThisThread();
            LoadedRun run = RunCache.get(runDirectory, options.pluginDirectory(), options.overrides());
            List<String> texts = new ArrayList<>();
            for (Row r : chunk) {
                if (!r.isNullAt(textIndex)) {
                    texts.add(r.getString(textIndex));
                }
            }
            List<LoadedRun.Prediction> predictions = mode == Mode.PREDICT && !texts.isEmpty() ? run.predict(texts, options.batchSize()) : List.of();
            List<float[]> embeddings = mode == Mode.ENCODE && !texts.isEmpty() ? run.encode(texts, options.batchSize()) : List.of();
            List<Row> out = new ArrayList<>(chunk.size());
            int j = 0;
            for (Row r : chunk) {
                int n = r.length();
                Object[] values = new Object[n + (mode == Mode.PREDICT ? 2 : 1)];
                for (int i = 0; i < n; i++) {
                    values[i] = r.get(i);
                }
                if (!r.isNullAt(textIndex)) {
                    if (mode == Mode.PREDICT) {
                        values[n] = predictions.get(j).label();
                        values[n + 1] = predictions.get(j).score();
                    } else {
                        float[] e = embeddings.get(j);
                        Float[] boxed = new Float[e.length];
                        for (int k = 0; k < e.length; k++) {
                            boxed[k] = e[k];
                        }
                        values[n] = boxed;
                    }
                    j++;
                }
                out.add(RowFactory.create(values));
            }
            return out;
        }
    }
}
