package dev.peft4j.adapters.ia3;

import dev.peft4j.api.tuner.ModulePatterns;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.Engines;
import dev.peft4j.models.Models;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.safetensors.SafetensorsFile;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both directions against real HF PEFT on fixtures made by {@code tools/ia3/make_peft_fixtures.py}: PEFT-written
 * IA3 adapters (default targets for BERT and Llama) load here with PEFT's outputs, merged too; what peft4j writes
 * has PEFT's keys and config and reads back to the same outputs; {@link #writesAdaptersForThePeftCheck} leaves
 * adapters for {@code tools/ia3/check_java_adapter.py}.
 */
class PeftIa3InteropTest {
    static final float TOLERANCE = 1e-4f;

    static final TensorFiles FILES = new SafetensorsTensorFiles();

    static {
        Engines.pytorch();
    }

    static Path fixtures() {
        try {
            return Path.of(PeftIa3InteropTest.class.getResource("/ia3-fixtures").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, NDArray> load(NDManager m, Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.loadAll(m);
        }
    }

    static ModelInput batch(NDManager m) {
        Map<String, NDArray> b = load(m, fixtures().resolve("batch.safetensors"));
        return new ModelInput(b.get("input_ids"), b.get("attention_mask"));
    }

    static NDArray output(TransformerModel model, NDManager m) {
        ModelOutput out = model.forward(batch(m), ForwardContext.inference(m));
        return model.isCausalLm() ? out.logits() : out.lastHiddenState();
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        assertThat(a.getShape()).isEqualTo(b.getShape());
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void bertAdapterMatchesPeftUnmergedAndMerged() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            Ia3Model ia3 = Ia3Model.fromPretrained(model.module(), fixtures().resolve("bert-ia3"), FILES);
            assertThat(model.module().trainableParameterCount()).isEqualTo(144); // PEFT: 144 of 5712
            assertThat(ia3.feedforwardModules()).containsExactly("encoder.layer.0.attention.output.dense", "encoder.layer.0.output.dense",
                    "encoder.layer.1.attention.output.dense", "encoder.layer.1.output.dense");
            Map<String, NDArray> expected = load(m, fixtures().resolve("bert-ia3").resolve("expected.safetensors"));
            float diff = maxAbsDiff(expected.get("last_hidden_state"), output(model, m));
            ia3.merge();
            float merged = maxAbsDiff(expected.get("merged_last_hidden_state"), output(model, m));
            System.out.printf("bert-ia3: max abs diff vs HF PEFT %.3g, merged %.3g%n", diff, merged);
            assertThat(diff).isLessThan(TOLERANCE);
            assertThat(merged).isLessThan(TOLERANCE);
        }
    }

    @Test
    void llamaAdapterMatchesPeft() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-llama"), Device.cpu())) {
            Ia3Model.fromPretrained(model.module(), fixtures().resolve("llama-ia3"), FILES);
            assertThat(model.module().trainableParameterCount()).isEqualTo(96); // PEFT: 96
            float diff = maxAbsDiff(load(m, fixtures().resolve("llama-ia3").resolve("expected.safetensors")).get("logits"), output(model, m));
            System.out.printf("llama-ia3: max abs diff vs HF PEFT %.3g%n", diff);
            assertThat(diff).isLessThan(TOLERANCE);
        }
    }

    @Test
    void defaultsForBertGivePeftsTargetsAndWhatPeft4jWritesHasPeftsKeys(@TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu());
                TransformerModel again = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            Ia3Model ia3 = Ia3Model.create(model.module(), new Ia3Config(null, null), "bert");
            Map<String, NDArray> peft = load(m, fixtures().resolve("bert-ia3").resolve("adapter_model.safetensors"));
            assertThat(ia3.stateDict().keySet()).containsExactlyInAnyOrderElementsOf(peft.keySet());
            ia3.stateDict().forEach((k, v) -> assertThat(v.getShape()).as(k).isEqualTo(peft.get(k).getShape()));
            ia3.loadStateDict(peft);
            NDArray out = output(model, m);
            ia3.save(tmp, FILES);
            assertThat(Files.readString(tmp.resolve("adapter_config.json"))).contains("\"peft_type\": \"IA3\"");
            Ia3Model.fromPretrained(again.module(), tmp, FILES);
            assertThat(maxAbsDiff(out, output(again, m))).isLessThan(1e-6f);
        }
    }

    @Test
    void badInputNamesTheKeyAndRealModules() {
        try (TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            assertThatThrownBy(() -> Ia3Model.create(model.module(), new Ia3Config(dev.peft4j.api.tuner.ModulePatterns.names("qkv"), null), "bert"))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("target-modules").hasMessageContaining("qkv")
                    .hasMessageContaining("query");
            assertThatThrownBy(() -> Ia3Model.create(model.module(), new Ia3Config(null, null), "t5"))
                    .hasMessageContaining("target-modules").hasMessageContaining("t5");
            assertThat(model.module().trainableParameterCount()).isEqualTo(model.module().parameterCount()); // unchanged
        }
    }

    @Test
    void loadingAFileOfOtherTargetsChangesNothing() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            Ia3Model ia3 = Ia3Model.create(model.module(), new Ia3Config(dev.peft4j.api.tuner.ModulePatterns.names("key", "value"),
                    dev.peft4j.api.tuner.ModulePatterns.none()), "bert");
            assertThatThrownBy(() -> ia3.load(fixtures().resolve("bert-ia3"), FILES))
                    .hasMessageContaining("output.dense.ia3_l").hasMessageContaining("nothing was applied");
            ia3.stateDict().values().forEach(v -> assertThat(v.eq(1f).all().getBoolean()).isTrue());
        }
    }

    /**
     * Writes peft4j-made adapters (random vectors) with peft4j's outputs into {@code target/java-ia3-adapters}, for
     * {@code tools/ia3/check_java_adapter.py} to load in HF PEFT.
     */
    @Test
    void writesAdaptersForThePeftCheck() throws Exception {
        Path out = Path.of("target", "java-ia3-adapters").toAbsolutePath();
        for (String[] row : new String[][] {{"java-bert-ia3", "base-bert", "bert"}, {"java-llama-ia3", "base-llama", "llama"}}) {
            try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(row[1]), Device.cpu())) {
                Ia3Model ia3 = Ia3Model.create(model.module(), new Ia3Config(null, null), row[2]);
                Random random = new Random(5);
                for (Parameter p : ia3.trainableParameters().values()) {
                    float[] v = new float[Math.toIntExact(p.size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) (1 + 0.3 * random.nextGaussian());
                    }
                    try (NDArray javaBacked = p.value().getManager().create(v, p.shape())) {
                        p.setValue(javaBacked.duplicate());
                    }
                }
                Path dir = out.resolve(row[0]);
                ia3.save(dir, FILES);
                FILES.write(dir.resolve("expected.safetensors"),
                        Map.of(model.isCausalLm() ? "logits" : "last_hidden_state", output(model, m)), Map.of());
                Files.writeString(dir.resolve("base.txt"), row[1] + "\n");
            }
        }
    }
}
