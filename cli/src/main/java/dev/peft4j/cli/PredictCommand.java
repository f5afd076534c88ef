package dev.peft4j.cli;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.data.Fields;
import dev.peft4j.runtime.data.TokenizedDataset;
import dev.peft4j.runtime.train.Evaluation;
import dev.peft4j.runtime.train.Evaluator;
import dev.peft4j.runtime.train.TaskSetup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j predict RUN_DIR --input FILE|-}: one prediction per input line, as JSONL on stdout. A
 * line is plain text, or a JSON object with {@code text} (and {@code text_pair}), {@code tokens}, or (extractive QA)
 * {@code question} and {@code context}, answered with the answer's text and its character offsets in the context.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Predict with a finished run: reads texts (one per line, or JSON objects) from a file or stdin, writes JSONL.")
final class PredictCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A run directory written by peft4j train.")
    Path runDirectory;

    @Option(names = "--input", paramLabel = "FILE", defaultValue = "-", description = "Input file, or - for stdin (default).")
    String input;

    @Option(names = "--batch-size", defaultValue = "32", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars.")
    Path plugins;

    @Option(names = "--adapter", paramLabel = "[NAME=]DIR",
            description = "A PEFT adapter directory (HF PEFT or peft4j) used instead of the run's trained adapter (repeatable, NAME=DIR:"
                    + " LoRA adapters side by side on the one loaded base; a JSON line chooses one with \"adapter\": \"NAME\", the first is"
                    + " the default).")
    List<String> adapterSpecs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (batchSize < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch-size must be positive, got " + batchSize);
        }
        String name = input.equals("-") ? "stdin" : input;
        Gson gson = new Gson();
        long predicted = 0;
        CliAdapters adapters = CliAdapters.parse(adapterSpecs);
        try (Peft4j peft4j = RunCommands.host(plugins); TaskSetup setup = EvalCommand.restore(peft4j, runDirectory, false);
                BufferedReader reader = open()) {
            if (!adapters.isEmpty()) {
                adapters.loadOnto(setup);
            }
            if (setup.kind() == dev.peft4j.runtime.data.TaskKind.CAUSAL_LM) {
                throw new Peft4jException(runDirectory + " is a causal-lm run, which predicts no labels: use peft4j generate MODEL --adapter "
                        + runDirectory.resolve("adapter") + " for text, or peft4j eval " + runDirectory + " for held-out perplexity");
            }
            // streams: a batch of lines is read, predicted and printed before the next is read, so memory does not grow with the input
            List<Example> chunk = new ArrayList<>(batchSize);
            String line;
            int n = 0;
            while (true) {
                try {
                    line = reader.readLine();
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw new Peft4jException(name + ":" + (n + 1) + ": not valid UTF-8 (" + e.getMessage() + ")");
                }
                if (line != null) {
                    n++;
                    if (!line.isBlank()) {
                        chunk.add(parse(line, name + ":" + n));
                    }
                }
                if (chunk.size() == batchSize || (line == null && !chunk.isEmpty())) {
                    predictByAdapter(setup, adapters, chunk, out, gson);
                    predicted += chunk.size();
                    chunk.clear();
                }
                if (line == null) {
                    break;
                }
            }
        }
        if (predicted == 0) {
            throw new Peft4jException("no input lines in " + name);
        }
        out.flush();
        return 0;
    }

    /** Consecutive lines that use the same adapter go through the model together, in input order. */
    private void predictByAdapter(TaskSetup setup, CliAdapters adapters, List<Example> chunk, PrintWriter out, Gson gson) {
        int start = 0;
        while (start < chunk.size()) {
            String name = adapterOf(chunk.get(start), adapters);
            int end = start + 1;
            while (end < chunk.size() && adapterOf(chunk.get(end), adapters).equals(name)) {
                end++;
            }
            if (!name.isEmpty()) {
                adapters.activate(name, chunk.get(start).origin());
            }
            predict(setup, chunk.subList(start, end), out, gson);
            start = end;
        }
    }

    private static String adapterOf(Example e, CliAdapters adapters) {
        Object named = e.fields().get(ADAPTER_FIELD);
        if (named != null && adapters.isEmpty()) {
            throw new Peft4jException(e.origin() + ": the line names adapter '" + named + "' but no --adapter was given");
        }
        return named != null ? named.toString() : adapters.isEmpty() ? "" : adapters.defaultName();
    }

    /** The JSON field of an input line that chooses the adapter. */
    static final String ADAPTER_FIELD = "adapter";

    private void predict(TaskSetup setup, List<Example> examples, PrintWriter out, Gson gson) {
        TokenizedDataset data = setup.encode(examples, false);
        Evaluation e = Evaluator.evaluate(setup.taskModel(), data, batchSize, setup.padId());
        for (int i = 0; i < examples.size(); i++) {
            Map<String, Object> line = new LinkedHashMap<>(examples.get(i).fields());
            if (setup.kind() != dev.peft4j.runtime.data.TaskKind.TOKEN_CLASSIFICATION && line.containsKey(Fields.TEXT)) {
                line.remove(Fields.TOKENS); // plain lines carry both; only token classification reads the words
            }
            Object p = e.predictions().get(i);
            float[] scores = e.scores().get(i);
            switch (setup.kind()) {
                case CLASSIFICATION -> {
                    line.put("label", setup.vocabulary().label((Integer) p));
                    line.put("score", scores[(Integer) p]);
                }
                case REGRESSION -> line.put("value", p);
                case MULTI_LABEL -> {
                    List<String> labels = new ArrayList<>();
                    for (Object id : (List<?>) p) {
                        labels.add(setup.vocabulary().label((Integer) id));
                    }
                    line.put("labels", labels);
                }
                case TOKEN_CLASSIFICATION -> line.put("tags", p);
                case QUESTION_ANSWERING -> {
                    dev.peft4j.runtime.train.SpanDecoder.Answer a = (dev.peft4j.runtime.train.SpanDecoder.Answer) p;
                    line.remove(Fields.TEXT);
                    line.put("answer", a.text());
                    line.put("start", a.start());
                    line.put("end", a.end());
                    line.put("score", a.score());
                }
                default -> throw new IllegalStateException(setup.kind().toString());
            }
            out.println(gson.toJson(line));
        }
        out.flush();
    }

    /** The input, decoded strictly (invalid UTF-8 is an error naming the line, on stdin as in a file). */
    private BufferedReader open() throws IOException {
        java.nio.charset.CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT).onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        if (input.equals("-")) {
            return new BufferedReader(new InputStreamReader(System.in, decoder));
        }
        Path file = Path.of(input);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("input file not found: " + file.toAbsolutePath());
        }
        return new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder));
    }

    /**
     * A line: a JSON object with {@code text} (and {@code text_pair}) or {@code tokens}, or plain text. A line that starts with
     * {@code {} but is not a JSON object is plain text; a JSON object whose fields are wrong is an error naming the line.
     */
    static Example parse(String line, String origin) {
        Map<String, Object> fields = new LinkedHashMap<>();
        JsonObject o = null;
        if (line.stripLeading().startsWith("{")) {
            try {
                JsonElement e = JsonParser.parseString(line);
                o = e.isJsonObject() ? e.getAsJsonObject() : null;
            } catch (com.google.gson.JsonParseException notJson) {
                o = null;
            }
        }
        if (o == null) {
            fields.put(Fields.TEXT, line);
            fields.put(Fields.TOKENS, List.of(line.strip().split("\\s+")));
            return new Example(fields, origin);
        }
        if (o.has("text")) {
            fields.put(Fields.TEXT, string(o, "text", origin));
        }
        if (o.has("text_pair")) {
            fields.put(Fields.TEXT_PAIR, string(o, "text_pair", origin));
        }
        for (String key : new String[] {Fields.QUESTION, Fields.CONTEXT, Fields.ID}) {
            if (o.has(key)) {
                fields.put(key, string(o, key, origin)); // extractive QA: {"question": ..., "context": ...}
            }
        }
        if (o.has("tokens")) {
            JsonElement t = o.get("tokens");
            if (!t.isJsonArray() || t.getAsJsonArray().isEmpty()) {
                throw new Peft4jException(origin + ": \"tokens\" is " + t + ", expected a non-empty array of strings");
            }
            List<String> tokens = new ArrayList<>();
            for (JsonElement x : t.getAsJsonArray()) {
                if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isString()) {
                    throw new Peft4jException(origin + ": \"tokens\" holds " + x + ", expected strings only");
                }
                tokens.add(x.getAsString());
            }
            fields.put(Fields.TOKENS, tokens);
        }
        if (fields.isEmpty()) {
            throw new Peft4jException(origin + ": expected a JSON object with \"text\" (and \"text_pair\"), \"tokens\", or \"question\" and"
                    + " \"context\", got keys " + o.keySet());
        }
        if (o.has(ADAPTER_FIELD)) {
            fields.put(ADAPTER_FIELD, string(o, ADAPTER_FIELD, origin));
        }
        return new Example(fields, origin);
    }

    private static String string(JsonObject o, String key, String origin) {
        JsonElement v = o.get(key);
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw new Peft4jException(origin + ": \"" + key + "\" is " + v + ", expected a string");
        }
        return v.getAsString();
    }
}
