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
 * line is plain text, or a JSON object with {@code text} (and {@code text_pair}) or {@code tokens}.
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

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (batchSize < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch-size must be positive, got " + batchSize);
        }
        List<Example> examples = read();
        if (examples.isEmpty()) {
            throw new Peft4jException("no input lines in " + (input.equals("-") ? "stdin" : input));
        }
        Gson gson = new Gson();
        try (Peft4j peft4j = RunCommands.host(plugins); TaskSetup setup = EvalCommand.restore(peft4j, runDirectory, false)) {
            if (setup.kind() == dev.peft4j.runtime.data.TaskKind.CAUSAL_LM) {
                throw new Peft4jException(runDirectory + " is a causal-lm run, which predicts no labels: use peft4j generate MODEL --adapter "
                        + runDirectory.resolve("adapter") + " for text, or peft4j eval " + runDirectory + " for held-out perplexity");
            }
            TokenizedDataset data = TokenizedDataset.encode(examples, setup.tokenizer(), setup.maxLength(), setup.kind(), setup.vocabulary(), false);
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
                    default -> throw new IllegalStateException(setup.kind().toString());
                }
                out.println(gson.toJson(line));
            }
        }
        out.flush();
        return 0;
    }

    private List<Example> read() throws IOException {
        List<Example> out = new ArrayList<>();
        try (BufferedReader r = input.equals("-") ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(Path.of(input), StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                String origin = (input.equals("-") ? "stdin" : input) + ":" + n;
                Map<String, Object> fields = new LinkedHashMap<>();
                if (line.stripLeading().startsWith("{")) {
                    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                    if (o.has("text")) {
                        fields.put(Fields.TEXT, o.get("text").getAsString());
                    }
                    if (o.has("text_pair")) {
                        fields.put(Fields.TEXT_PAIR, o.get("text_pair").getAsString());
                    }
                    if (o.has("tokens")) {
                        List<String> tokens = new ArrayList<>();
                        for (JsonElement t : o.getAsJsonArray("tokens")) {
                            tokens.add(t.getAsString());
                        }
                        fields.put(Fields.TOKENS, tokens);
                    }
                    if (fields.isEmpty()) {
                        throw new Peft4jException(origin + ": expected a JSON object with \"text\" (and \"text_pair\") or \"tokens\"");
                    }
                } else {
                    fields.put(Fields.TEXT, line);
                    fields.put(Fields.TOKENS, List.of(line.strip().split("\\s+")));
                }
                out.add(new Example(fields, origin));
            }
        }
        return out;
    }

}
