package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.models.Models;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.Peft4j;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters from anywhere: HF-PEFT-trained adapters (the committed fixtures of tools/lora/make_peft_fixtures.py) used by
 * {@code encode} and {@code predict}, switched per input line on one loaded base, and {@code method.init-from}.
 */
class AdapterOptionsTest {
    static final Path FIXTURES = MergeCommandTest.FIXTURES;

    @TempDir
    Path dir;

    /** An HF directory: a fixture's config and weights plus the tiny BERT tokenizer cut to the fixture's 50-token vocabulary. */
    private Path withTokenizer(String fixture) throws Exception {
        Path out = dir.resolve(fixture + "-tok");
        Files.createDirectories(out);
        Files.copy(FIXTURES.resolve(fixture).resolve("config.json"), out.resolve("config.json"));
        Files.copy(FIXTURES.resolve(fixture).resolve("model.safetensors"), out.resolve("model.safetensors"));
        JsonObject tokenizer = JsonParser.parseString(Files.readString(TrainEvalPredictCommandTest.TINY_BERT.resolve("tokenizer.json"))).getAsJsonObject();
        JsonObject vocab = tokenizer.getAsJsonObject("model").getAsJsonObject("vocab");
        for (String token : new ArrayList<>(vocab.keySet())) {
            if (vocab.get(token).getAsInt() >= 50) {
                vocab.remove(token);
            }
        }
        Files.writeString(out.resolve("tokenizer.json"), tokenizer.toString());
        return out;
    }

    private static float[] embedding(String jsonLine) {
        JsonArray a = JsonParser.parseString(jsonLine).getAsJsonObject().getAsJsonArray("embedding");
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).getAsFloat();
        }
        return v;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    @Test
    void encodeSwitchesAdaptersPerLineOnOneLoadedBase() throws Exception {
        Path model = withTokenizer("base-bert");
        // a second adapter: a fresh LoRA (lora_B = 0) is the identity, so its embeddings are the bare model's
        Path zero = dir.resolve("zero");
        try (Peft4j peft4j = Peft4j.builder().build(); TransformerModel m = Models.load(model, Device.cpu())) {
            Adaptation fresh = peft4j.adapt(m, "lora", Map.of("r", 2, "target-modules", List.of("query")));
            fresh.save(zero, new SafetensorsTensorFiles());
        }
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, "{\"text\": \"mat the\", \"adapter\": \"peft\"}\n{\"text\": \"mat the\", \"adapter\": \"zero\"}\nmat the\n"
                + "{\"text\": \"cat sat\", \"adapter\": \"zero\"}\n{\"text\": \"mat the\", \"adapter\": \"peft\"}\n");
        int loads = EncodeCommand.MODEL_LOADS.get();
        TrainEvalPredictCommandTest.Result r = MergeCommandTest.quietly("encode", model.toString(), "--adapter",
                "peft=" + FIXTURES.resolve("lora-qv"), "--adapter", "zero=" + zero, "--input", input.toString(), "--batch-size", "8");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(EncodeCommand.MODEL_LOADS.get() - loads).isEqualTo(1); // the base was loaded once for all five lines
        List<String> lines = r.out().strip().lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines).extracting(l -> JsonParser.parseString(l).getAsJsonObject().get("adapter").getAsString())
                .containsExactly("peft", "zero", "peft", "zero", "peft");

        // the HF PEFT adapter gives PEFT's own output: the fixture's last hidden state of [CLS] mat the [SEP], mean-pooled, normalised
        float[] want;
        try (NDManager m = NDManager.newBaseManager(); SafetensorsFile f = SafetensorsFile.open(FIXTURES.resolve("lora-qv").resolve("expected.safetensors"))) {
            NDArray hidden = f.load("last_hidden_state", m).get("1, :4, :"); // row 2 of the batch: 4 real tokens
            NDArray mean = hidden.mean(new int[] {0});
            want = mean.div(mean.norm()).toFloatArray();
        }
        assertThat(maxAbsDiff(embedding(lines.get(0)), want)).isLessThan(1e-4);
        assertThat(maxAbsDiff(embedding(lines.get(2)), want)).isLessThan(1e-4); // no field: the first adapter
        assertThat(maxAbsDiff(embedding(lines.get(4)), want)).isLessThan(1e-4); // switched back
        // the identity adapter gives the bare model's embedding, which differs from PEFT's
        TrainEvalPredictCommandTest.Result bare = MergeCommandTest.quietly("encode", model.toString(), "--text", "mat the");
        float[] base = embedding(bare.out().strip());
        assertThat(maxAbsDiff(embedding(lines.get(1)), base)).isLessThan(1e-6);
        assertThat(maxAbsDiff(base, want)).isGreaterThan(1e-3);

        TrainEvalPredictCommandTest.Result unknown = MergeCommandTest.quietly("encode", model.toString(), "--adapter", "peft=" + FIXTURES.resolve("lora-qv"),
                "--input", input.toString());
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).contains("(text 2): no adapter named 'zero'; loaded: [peft]");
    }

    @Test
    void initFromAnHfPeftAdapterIsCheckedAndPredictUsesTheAdapter() throws Exception {
        Path model = withTokenizer("base-seqcls");
        Path cls = FIXTURES.resolve("dora-rslora-cls");
        List<String> rows = new ArrayList<>(List.of("sentence\tlabel"));
        String[] words = {"cat sat", "dog is happy", "the mat", "sad dog", "a cat is good", "bad mat"};
        for (int i = 0; i < 24; i++) {
            rows.add(words[i % words.length] + "\tLABEL_" + (i % 3));
        }
        Path data = dir.resolve("data.tsv");
        Files.write(data, rows, StandardCharsets.UTF_8);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + model + "\", max-length = 16 }\n"
                + "method { name = lora, r = 4, alpha = 16, use-dora = true, use-rslora = true,"
                + " target-modules = [query, value, attention.output.dense], modules-to-save = [classifier], init-from = \"" + cls + "\" }\n"
                + "head { name = sequence-classification, pooling = pooler }\n"
                + "data { labels = [LABEL_0, LABEL_1, LABEL_2], train { path = \"" + data + "\", format = tsv }, holdout = 0.25 }\n"
                + "train { max-steps = 1, batch-size = 8, learning-rate = 1e-9, warmup-steps = 0, weight-decay = 0 }\n");

        // settings that differ from the adapter's are refused, each named by its key, before training
        TrainEvalPredictCommandTest.Result wrong = MergeCommandTest.quietly("train", conf.toString(), "run.dir=\"" + dir.resolve("bad") + "\"",
                "method.r=8", "method.use-dora=false");
        assertThat(wrong.code()).isEqualTo(1);
        assertThat(wrong.err()).contains("method.r is 8 but the adapter has r = 4").contains("method.use-dora is false but the adapter has use_dora = true");
        Path ia3 = dir.resolve("ia3.conf");
        Files.writeString(ia3, Files.readString(conf).replaceFirst("method \\{[^}]*}", "method { name = ia3, init-from = \"" + cls + "\" }"));
        TrainEvalPredictCommandTest.Result type = MergeCommandTest.quietly("train", ia3.toString(), "run.dir=\"" + dir.resolve("bad2") + "\"");
        assertThat(type.err()).contains("method.name is ia3 but the adapter's peft_type is LORA");

        Path run = dir.resolve("run");
        TrainEvalPredictCommandTest.Result trained = MergeCommandTest.quietly("train", conf.toString(), "run.dir=\"" + run + "\"");
        assertThat(trained.code()).as(trained.err()).isZero();
        // one step at lr 1e-9 from the HF PEFT adapter: the saved adapter is that adapter (every tensor, the classifier too)
        try (NDManager m = NDManager.newBaseManager();
                SafetensorsFile a = SafetensorsFile.open(cls.resolve("adapter_model.safetensors"));
                SafetensorsFile b = SafetensorsFile.open(run.resolve("adapter").resolve("adapter_model.safetensors"))) {
            Map<String, NDArray> theirs = a.loadAll(m);
            Map<String, NDArray> ours = b.loadAll(m);
            assertThat(ours.keySet()).containsAll(theirs.keySet());
            for (Map.Entry<String, NDArray> e : theirs.entrySet()) {
                assertThat(ours.get(e.getKey()).sub(e.getValue()).abs().max().getFloat()).as(e.getKey()).isLessThan(1e-6f);
            }
        }

        // predict with the HF PEFT adapter beside the run's own ("default"): PEFT's logits for [CLS] mat the [SEP]
        double[] probabilities;
        try (NDManager m = NDManager.newBaseManager(); SafetensorsFile f = SafetensorsFile.open(cls.resolve("expected.safetensors"))) {
            float[] logits = f.load("logits", m).get("1").toFloatArray();
            double max = Math.max(logits[0], Math.max(logits[1], logits[2]));
            double sum = 0;
            probabilities = new double[3];
            for (int i = 0; i < 3; i++) {
                probabilities[i] = Math.exp(logits[i] - max);
                sum += probabilities[i];
            }
            for (int i = 0; i < 3; i++) {
                probabilities[i] /= sum;
            }
        }
        int best = probabilities[0] >= probabilities[1] && probabilities[0] >= probabilities[2] ? 0 : probabilities[1] >= probabilities[2] ? 1 : 2;
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, "{\"text\": \"mat the\", \"adapter\": \"peft\"}\n{\"text\": \"mat the\", \"adapter\": \"default\"}\nmat the\n");
        TrainEvalPredictCommandTest.Result p = MergeCommandTest.quietly("predict", run.toString(), "--adapter", "peft=" + cls, "--input", input.toString());
        assertThat(p.code()).as(p.err()).isZero();
        List<String> lines = p.out().strip().lines().toList();
        assertThat(lines).hasSize(3);
        for (String line : List.of(lines.get(0), lines.get(2))) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            assertThat(o.get("label").getAsString()).isEqualTo("LABEL_" + best);
            assertThat(o.get("score").getAsDouble()).isCloseTo(probabilities[best], within(1e-4));
        }
        assertThat(JsonParser.parseString(lines.get(1)).getAsJsonObject().get("adapter").getAsString()).isEqualTo("default");

        TrainEvalPredictCommandTest.Result e = MergeCommandTest.quietly("eval", run.toString(), "--adapter", cls.toString());
        assertThat(e.code()).as(e.err()).isZero();
        JsonElement accuracy = JsonParser.parseString(e.out().strip()).getAsJsonObject().get("accuracy");
        assertThat(accuracy.getAsDouble()).isBetween(0.0, 1.0);
    }
}
