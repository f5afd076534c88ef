package dev.peft4j.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.text.TextTokenizer.Encoding;
import dev.peft4j.models.Models;
import dev.peft4j.models.tokenizer.Batch;
import dev.peft4j.models.tokenizer.Batcher;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import dev.peft4j.models.tokenizer.SentenceEmbeddings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code peft4j encode MODEL --text ... | --input FILE}: one JSON line per text,
 * {@code {"text": ..., "embedding": [...]}}, the embedding being the attention-masked mean of the last
 * hidden state, L2-normalised (what sentence-transformers computes for MiniLM, BGE and E5 with
 * normalisation on).
 */
@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Print mean-pooled, L2-normalised sentence embeddings, one JSON line per text.")
final class EncodeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Option(names = "--text", paramLabel = "TEXT", description = "A text to encode (repeatable).")
    List<String> texts = new ArrayList<>();

    @Option(names = "--input", paramLabel = "FILE", description = "A file with one text per line (blank lines skipped); - is stdin.")
    Path input;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Truncate texts to N tokens, special tokens included (default: the model's max_position_embeddings, at most 512;"
                    + " sentence-transformers uses 256 for all-MiniLM-L6-v2, so pass 256 to match it on longer texts).")
    Integer maxLength;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "N", description = "Texts per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--adapter", paramLabel = "[NAME=]DIR",
            description = "A PEFT adapter directory (HF PEFT or peft4j; LoRA, IA3, LN tuning, prefix/prompt tuning) applied to the model"
                    + " (repeatable, NAME=DIR: LoRA adapters side by side on the one loaded model; an --input line"
                    + " {\"text\": ..., \"adapter\": \"NAME\"} chooses one, the first is the default).")
    List<String> adapterSpecs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** How many times a command of this JVM loaded a model (tests: switching adapters never reloads the base). */
    static final java.util.concurrent.atomic.AtomicInteger MODEL_LOADS = new java.util.concurrent.atomic.AtomicInteger();

    /** One text to encode and the adapter it asks for ("" = the default). */
    record Item(String text, String adapter, String origin) {}

    @Override
    public Integer call() {
        List<Item> all = new ArrayList<>();
        texts.forEach(t -> all.add(new Item(t, "", "--text")));
        if (input != null) {
            List<String> lines = readLines(input);
            for (int i = 0; i < lines.size(); i++) {
                all.add(item(lines.get(i), input + " (text " + (i + 1) + ")"));
            }
        }
        if (all.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "nothing to encode: give --text TEXT (repeatable) or --input FILE");
        }
        if (batchSize < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch-size must be positive, got " + batchSize);
        }
        PrintWriter out = spec.commandLine().getOut();
        Path directory = options.directory();
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();
        CliAdapters adapters = CliAdapters.parse(adapterSpecs);
        if (adapters.isEmpty()) {
            all.stream().filter(i -> !i.adapter().isEmpty()).findFirst().ifPresent(i -> {
                throw new Peft4jException(i.origin() + ": the line names adapter '" + i.adapter() + "' but no --adapter was given");
            });
        }
        try (TransformerModel model = Models.load(directory, options.device());
                HfTextTokenizer tokenizer = HfTextTokenizer.open(directory.resolve("tokenizer.json"))) {
            MODEL_LOADS.incrementAndGet();
            if (!adapters.isEmpty()) {
                adapters.loadOnto(model);
            }
            int length = maxLength != null ? maxLength : Math.min(512, model.config().integer("max_position_embeddings", 512));
            if (length < 2) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--max-length must be at least 2, got " + length);
            }
            Batcher batcher = new Batcher(tokenizer.padTokenId());
            int start = 0;
            while (start < all.size()) {
                dev.peft4j.runtime.Interruption.throwIfRequested("encode");
                // a batch: up to batchSize consecutive texts that use the same adapter
                String adapter = all.get(start).adapter().isEmpty() && !adapters.isEmpty() ? adapters.defaultName() : all.get(start).adapter();
                int end = start + 1;
                while (end < all.size() && end - start < batchSize && sameAdapter(all.get(end), adapter, adapters)) {
                    end++;
                }
                if (!adapters.isEmpty()) {
                    adapters.activate(adapter, all.get(start).origin());
                }
                List<Item> chunk = all.subList(start, end);
                start = end;
                List<Encoding> encodings = new ArrayList<>();
                for (Item item : chunk) {
                    encodings.add(tokenizer.encode(item.text(), length));
                }
                // every tensor of this batch lives in a per-batch manager, freed before the next
                try (NDManager step = model.manager().newSubManager()) {
                    Batch batch = batcher.pad(encodings, step);
                    ModelOutput output = model.forward(batch.toModelInput(), ForwardContext.inference(step));
                    NDArray embeddings = SentenceEmbeddings.meanPooledNormalized(output, batch.attentionMask());
                    float[] values = embeddings.toFloatArray();
                    int dim = (int) embeddings.getShape().get(1);
                    for (int row = 0; row < chunk.size(); row++) {
                        JsonObject line = new JsonObject();
                        line.addProperty("text", chunk.get(row).text());
                        if (!adapters.isEmpty()) {
                            line.addProperty("adapter", adapter);
                        }
                        JsonArray vector = new JsonArray(dim);
                        for (int i = 0; i < dim; i++) {
                            vector.add(values[row * dim + i]);
                        }
                        line.add("embedding", vector);
                        out.println(gson.toJson(line));
                    }
                }
                out.flush();
            }
        }
        return 0;
    }

    private static boolean sameAdapter(Item item, String adapter, CliAdapters adapters) {
        String wanted = item.adapter().isEmpty() && !adapters.isEmpty() ? adapters.defaultName() : item.adapter();
        return wanted.equals(adapter);
    }

    /** A line of --input: plain text, or a JSON object with "text" (and "adapter"). */
    static Item item(String line, String origin) {
        if (line.stripLeading().startsWith("{")) {
            com.google.gson.JsonElement e;
            try {
                e = com.google.gson.JsonParser.parseString(line);
            } catch (com.google.gson.JsonParseException notJson) {
                return new Item(line, "", origin);
            }
            if (e.isJsonObject()) {
                JsonObject o = e.getAsJsonObject();
                if (!o.has("text") || !o.get("text").isJsonPrimitive()) {
                    throw new Peft4jException(origin + ": expected a JSON object with \"text\" (and \"adapter\"), got keys " + o.keySet());
                }
                String adapter = o.has("adapter") && o.get("adapter").isJsonPrimitive() ? o.get("adapter").getAsString() : "";
                return new Item(o.get("text").getAsString(), adapter, origin);
            }
        }
        return new Item(line, "", origin);
    }

    private static List<String> readLines(Path file) {
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = file.toString().equals("-")
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        } catch (NoSuchFileException e) {
            throw new Peft4jException("input file not found: " + file.toAbsolutePath());
        } catch (IOException e) {
            throw new Peft4jException("cannot read input file " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        return lines;
    }
}
