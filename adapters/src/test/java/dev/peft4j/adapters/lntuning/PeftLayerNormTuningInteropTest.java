package dev.peft4j.adapters.lntuning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.Engines;
import dev.peft4j.models.Models;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both directions against HF PEFT on fixtures made by {@code tools/ln_tuning/make_peft_fixtures.py}, and
 * {@link #writesAdaptersForThePeftCheck} for {@code tools/ln_tuning/check_java_adapter.py}.
 */
class PeftLayerNormTuningInteropTest {
    static final float TOLERANCE = 1e-4f;
    static final TensorFiles FILES = new SafetensorsTensorFiles();

    static {
        Engines.pytorch();
    }

    static Path fixtures() {
        try {
            return Path.of(PeftLayerNormTuningInteropTest.class.getResource("/ln-tuning-fixtures").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, NDArray> load(NDManager m, Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.loadAll(m);
        }
    }

    static NDArray output(TransformerModel model, NDManager m) {
        Map<String, NDArray> b = load(m, fixtures().resolve("batch.safetensors"));
        ModelOutput out = model.forward(new ModelInput(b.get("input_ids"), b.get("attention_mask")), ForwardContext.inference(m));
        return model.isCausalLm() ? out.logits() : out.lastHiddenState();
    }

    static float check(String base, String adapter, long trainable) {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(base), Device.cpu())) {
            LayerNormTuningModel.fromPretrained(model.module(), fixtures().resolve(adapter), FILES);
            assertThat(model.module().trainableParameterCount()).isEqualTo(trainable);
            Map<String, NDArray> expected = load(m, fixtures().resolve(adapter).resolve("expected.safetensors"));
            NDArray want = expected.containsKey("logits") ? expected.get("logits") : expected.get("last_hidden_state");
            float diff = want.sub(output(model, m)).abs().max().getFloat();
            System.out.printf("%s: max abs diff vs HF PEFT %.3g%n", adapter, diff);
            return diff;
        }
    }

    @Test
    void bertAdapterMatchesPeft() {
        assertThat(check("base-bert", "bert-ln-tuning", 160)).isLessThan(TOLERANCE); // PEFT: 160
    }

    @Test
    void llamaDefaultAdapterMatchesPeft() {
        assertThat(check("base-llama", "llama-ln-tuning", 80)).isLessThan(TOLERANCE); // PEFT: 80
    }

    @Test
    void defaultsSelectPeftsModulesAndWhatPeft4jWritesReadsBack(@TempDir Path tmp) {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-llama"), Device.cpu());
                TransformerModel again = Models.load(fixtures().resolve("base-llama"), Device.cpu())) {
            LayerNormTuningModel ln = LayerNormTuningModel.create(model.module(), new LayerNormTuningConfig(null), "llama");
            Map<String, NDArray> peft = load(m, fixtures().resolve("llama-ln-tuning").resolve("adapter_model.safetensors"));
            assertThat(ln.stateDict().keySet()).containsExactlyInAnyOrderElementsOf(peft.keySet());
            ln.loadStateDict(peft);
            NDArray out = output(model, m);
            ln.save(tmp, FILES);
            LayerNormTuningModel.fromPretrained(again.module(), tmp, FILES);
            assertThat(out.sub(output(again, m)).abs().max().getFloat()).isLessThan(1e-6f);
        }
    }

    @Test
    void badTargetsNameTheKeyAndRealModules() {
        try (TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            assertThatThrownBy(() -> LayerNormTuningModel.create(model.module(), new LayerNormTuningConfig(ModulePatterns.names("ln_f")), "bert"))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("target-modules").hasMessageContaining("ln_f")
                    .hasMessageContaining("LayerNorm");
            assertThatThrownBy(() -> LayerNormTuningModel.create(model.module(), new LayerNormTuningConfig(ModulePatterns.names("query")), "bert"))
                    .hasMessageContaining("not LayerNorm/RMSNorm");
            assertThat(model.module().trainableParameterCount()).isEqualTo(model.module().parameterCount());
        }
    }

    @Test
    void writesAdaptersForThePeftCheck() throws Exception {
        Path out = Path.of("target", "java-ln-tuning-adapters").toAbsolutePath();
        for (String[] row : new String[][] {{"java-bert-ln-tuning", "base-bert", "bert"}, {"java-llama-ln-tuning", "base-llama", "llama"}}) {
            try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(row[1]), Device.cpu())) {
                LayerNormTuningModel ln = LayerNormTuningModel.create(model.module(), new LayerNormTuningConfig(null), row[2]);
                Random random = new Random(5);
                for (Parameter p : ln.trainableParameters().values()) {
                    float[] noise = new float[Math.toIntExact(p.size())];
                    for (int i = 0; i < noise.length; i++) {
                        noise[i] = (float) (0.3 * random.nextGaussian());
                    }
                    try (NDArray n = p.value().getManager().create(noise, p.shape())) {
                        p.value().addi(n);
                    }
                }
                Path dir = out.resolve(row[0]);
                ln.save(dir, FILES);
                FILES.write(dir.resolve("expected.safetensors"), Map.of(model.isCausalLm() ? "logits" : "last_hidden_state", output(model, m)), Map.of());
                Files.writeString(dir.resolve("base.txt"), row[1] + "\n");
            }
        }
    }
}
