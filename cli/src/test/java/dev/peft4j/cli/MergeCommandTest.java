package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.Models;
import dev.peft4j.models.safetensors.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peft4j merge}: a trained tiny-BERT LoRA run merged into a plain HF directory predicts exactly as the run with its
 * adapter; an HF-PEFT adapter merged into its base gives PEFT's own output; bad input is a clear error.
 */
class MergeCommandTest {
    static final Path FIXTURES = Path.of("..", "lora", "src", "test", "resources", "peft-fixtures").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    static TrainEvalPredictCommandTest.Result quietly(String... args) {
        PrintStream saved = System.err;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            return TrainEvalPredictCommandTest.run(args);
        } finally {
            System.setErr(saved);
        }
    }

    static Path experiment(Path dir, Path model, String method) throws Exception {
        Random r = new Random(5);
        List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
        for (int i = 0; i < 32; i++) {
            boolean good = r.nextBoolean();
            lines.add((good ? "good great fine" : "bad poor awful") + " movie " + i % 5 + "\t" + (good ? "pos" : "neg"));
        }
        Path data = dir.resolve("data.tsv");
        Files.write(data, lines, StandardCharsets.UTF_8);
        Path conf = dir.resolve("exp-" + method.replaceAll("\\W", "") + ".conf");
        Files.writeString(conf, "model { source = \"" + model + "\", max-length = 16 }\n" + "method " + method + "\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + data + "\", format = tsv }, holdout = 0.25 }\n"
                + "train { max-steps = 3, batch-size = 8, learning-rate = 2e-2, warmup-steps = 0 }\n");
        return conf;
    }

    @Test
    void mergedRunPredictsAsTheRunWithItsAdapter() throws Exception {
        Path conf = experiment(dir, TrainEvalPredictCommandTest.TINY_BERT, "{ name = lora, r = 4, alpha = 8, target-modules = [query, value, dense] }");
        Path run = dir.resolve("run");
        TrainEvalPredictCommandTest.Result trained = quietly("train", conf.toString(), "run.dir=\"" + run + "\"");
        assertThat(trained.code()).as(trained.err()).isZero();

        Path merged = dir.resolve("merged");
        TrainEvalPredictCommandTest.Result m = quietly("merge", run.toString(), "--out", merged.toString());
        assertThat(m.code()).as(m.err()).isZero();
        assertThat(m.out()).contains("merged lora into").contains("head: ").contains("2 tensors");
        assertThat(merged.resolve("config.json")).exists();
        assertThat(merged.resolve("tokenizer.json")).exists();
        assertThat(Files.list(dir).map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("merge-tmp"));

        // the merged directory is the base architecture with its own names and shapes, and the weights changed
        try (TransformerModel base = Models.load(TrainEvalPredictCommandTest.TINY_BERT, Device.cpu());
                TransformerModel plain = Models.load(merged, Device.cpu())) {
            assertThat(plain.module().namedParameters().keySet()).isEqualTo(base.module().namedParameters().keySet());
            NDArray before = base.module().namedParameters().get("encoder.layer.0.attention.self.query.weight").value();
            NDArray after = plain.module().namedParameters().get("encoder.layer.0.attention.self.query.weight").value();
            assertThat(before.sub(after).abs().max().getFloat()).isGreaterThan(1e-4f);
            NDArray key0 = base.module().namedParameters().get("encoder.layer.0.attention.self.key.weight").value();
            NDArray key1 = plain.module().namedParameters().get("encoder.layer.0.attention.self.key.weight").value();
            assertThat(key0.sub(key1).abs().max().getFloat()).isZero(); // not a target
        }

        // moved elsewhere, the merged model's run directory predicts exactly as the run with its adapter
        Path moved = dir.resolve("moved");
        Files.move(merged, moved);
        Path input = dir.resolve("in.txt");
        Files.writeString(input, "good great fine movie\nbad poor awful movie 3\nthe movie 2\nfine awful\n");
        TrainEvalPredictCommandTest.Result a = quietly("predict", run.toString(), "--input", input.toString());
        TrainEvalPredictCommandTest.Result b = quietly("predict", moved.resolve("peft4j-run").toString(), "--input", input.toString());
        assertThat(a.code()).as(a.err()).isZero();
        assertThat(b.code()).as(b.err()).isZero();
        List<String> la = a.out().strip().lines().toList();
        List<String> lb = b.out().strip().lines().toList();
        assertThat(lb).hasSize(4);
        for (int i = 0; i < 4; i++) {
            JsonObject x = JsonParser.parseString(la.get(i)).getAsJsonObject();
            JsonObject y = JsonParser.parseString(lb.get(i)).getAsJsonObject();
            assertThat(y.get("label").getAsString()).isEqualTo(x.get("label").getAsString());
            assertThat(y.get("score").getAsDouble()).isCloseTo(x.get("score").getAsDouble(), within(1e-5));
        }
        TrainEvalPredictCommandTest.Result ea = quietly("eval", run.toString());
        TrainEvalPredictCommandTest.Result eb = quietly("eval", moved.resolve("peft4j-run").toString());
        assertThat(eb.code()).as(eb.err()).isZero();
        JsonObject ma = JsonParser.parseString(ea.out().strip()).getAsJsonObject();
        JsonObject mb = JsonParser.parseString(eb.out().strip()).getAsJsonObject();
        assertThat(mb.get("accuracy").getAsDouble()).isEqualTo(ma.get("accuracy").getAsDouble());
        assertThat(mb.get("loss").getAsDouble()).isCloseTo(ma.get("loss").getAsDouble(), within(1e-5));

        // bad input
        Files.createDirectories(merged);
        assertThat(quietly("merge", run.toString(), "--out", merged.toString()).err()).contains("already exists");
        Path other = FIXTURES.resolve("base-bert"); // hidden 16 instead of 32
        TrainEvalPredictCommandTest.Result shapes = quietly("merge", run.toString(), "--base", other.toString(), "--out", dir.resolve("m2").toString());
        assertThat(shapes.code()).isEqualTo(1);
        assertThat(shapes.err()).contains("differs from the run's base").containsPattern("has shape \\(\\d+(, \\d+)?\\) there but \\(\\d+(, \\d+)?\\) in the run's base");
        assertThat(dir.resolve("m2")).doesNotExist();
    }

    @Test
    void methodsThatAddModulesAndAMissingBaseAreRefused() throws Exception {
        // a copy of the tiny BERT as the base, deleted after training
        Path base = dir.resolve("base");
        Files.createDirectories(base);
        try (var files = Files.list(TrainEvalPredictCommandTest.TINY_BERT)) {
            for (Path f : files.toList()) {
                Files.copy(f, base.resolve(f.getFileName()));
            }
        }
        Path conf = experiment(dir, base, "{ name = bottleneck, bottleneck-size = 4, reduction-factor = null }");
        Path run = dir.resolve("run");
        TrainEvalPredictCommandTest.Result trained = quietly("train", conf.toString(), "run.dir=\"" + run + "\"", "train.max-steps=1");
        assertThat(trained.code()).as(trained.err()).isZero();
        TrainEvalPredictCommandTest.Result refused = quietly("merge", run.toString(), "--out", dir.resolve("m").toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("method bottleneck cannot be merged into the base weights").contains("adapters.default.adapter_down.0.weight");
        assertThat(dir.resolve("m")).doesNotExist();

        Files.walk(base).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        TrainEvalPredictCommandTest.Result missing = quietly("merge", run.toString(), "--out", dir.resolve("m").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("the run's base model " + base + " is missing").contains("pass --base MODEL");
    }

    @Test
    void anHfPeftAdapterMergesIntoItsBaseWithPeftsOutput() throws Exception {
        Path out = dir.resolve("merged");
        TrainEvalPredictCommandTest.Result r = quietly("merge", FIXTURES.resolve("lora-qv").toString(), "--base", FIXTURES.resolve("base-bert").toString(),
                "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        try (TransformerModel merged = Models.load(out, Device.cpu()); NDManager m = merged.manager().newSubManager()) {
            Map<String, NDArray> batch;
            try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("batch.safetensors"))) {
                batch = f.loadAll(m);
            }
            NDArray hidden = merged.forward(new ModelInput(batch.get("input_ids"), batch.get("attention_mask"), batch.get("token_type_ids"), null),
                    ForwardContext.inference(m)).lastHiddenState();
            NDArray want;
            try (SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("lora-qv").resolve("expected.safetensors"))) {
                want = f.load("last_hidden_state", m);
            }
            assertThat(hidden.sub(want).abs().max().getFloat()).isLessThan(1e-4f);
            try (TransformerModel base = Models.load(FIXTURES.resolve("base-bert"), Device.cpu())) {
                NDArray unadapted = base.forward(new ModelInput(batch.get("input_ids"), batch.get("attention_mask"), batch.get("token_type_ids"),
                        null), ForwardContext.inference(m)).lastHiddenState();
                assertThat(unadapted.sub(want).abs().max().getFloat()).isGreaterThan(1e-2f); // the adapter matters
            }
        }
        TrainEvalPredictCommandTest.Result noBase = quietly("merge", FIXTURES.resolve("lora-qv").toString(), "--out", dir.resolve("x").toString());
        assertThat(noBase.err()).contains("is an adapter directory: give the model it was trained on with --base MODEL");
    }
}
