package dev.peft4j.lora;

import dev.peft4j.api.spi.AdapterMethodContractTest;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.Models;
import dev.peft4j.models.safetensors.SafetensorsFile;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both directions against real HF PEFT, on fixtures made by tools/lora/make_peft_fixtures.py (PEFT-written)
 * and by {@link #writeJavaAdapters} (checked in PEFT by tools/lora/check_java_adapter.py).
 */
class PeftInteropTest {
    static Path fixtures() {
        try {
            return Path.of(PeftInteropTest.class.getResource("/peft-fixtures").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static ModelInput batch(NDManager m) {
        try (SafetensorsFile f = SafetensorsFile.open(fixtures().resolve("batch.safetensors"))) {
            Map<String, NDArray> b = f.loadAll(m);
            return new ModelInput(b.get("input_ids"), b.get("attention_mask"), b.get("token_type_ids"), null);
        }
    }

    static NDArray expected(NDManager m, Path dir, String name) {
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("expected.safetensors"))) {
            return f.load(name, m);
        }
    }

    /** BertForSequenceClassification from the base-seqcls fixture: backbone via Models.load, head from the file. */
    static TestModels.Classifier seqCls() {
        Path dir = fixtures().resolve("base-seqcls");
        TransformerModel model = Models.load(dir, Device.cpu());
        Linear head;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            NDArray w = f.load("classifier.weight", model.manager());
            NDArray b = f.load("classifier.bias", model.manager());
            head = new Linear(w, b, false);
        }
        return new TestModels.Classifier(model, head);
    }

    @Test
    void loraWrittenByPeftGivesPeftsOutputs() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            Path adapter = fixtures().resolve("lora-qv");
            NDArray base = model.forward(batch(m), ForwardContext.inference(m)).lastHiddenState();
            LoraModel lora = LoraModel.fromPretrained(model.module(), "bert", adapter, TestModels.FILES, "default");
            assertThat(lora.targetedModules()).containsExactly("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
                    "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value");
            NDArray out = model.forward(batch(m), ForwardContext.inference(m)).lastHiddenState();
            NDArray want = expected(m, adapter, "last_hidden_state");
            assertThat(TestModels.maxAbsDiff(base, want)).as("the adapter matters").isGreaterThan(1e-2f);
            System.out.printf("lora-qv: max |peft4j - PEFT| = %.3g%n", TestModels.maxAbsDiff(out, want));
            assertThat(TestModels.maxAbsDiff(out, want)).isLessThanOrEqualTo(1e-4f);
            lora.merge();
            assertThat(TestModels.maxAbsDiff(model.forward(batch(m), ForwardContext.inference(m)).lastHiddenState(), want)).isLessThanOrEqualTo(1e-4f);
        }
    }

    @Test
    @SuppressWarnings("try") // the model is held only to be closed
    void doraRsloraWithClassifierWrittenByPeftGivesPeftsLogits() {
        try (NDManager m = NDManager.newBaseManager()) {
            TestModels.Classifier root = seqCls();
            try (TransformerModel model = root.backbone()) {
                Path adapter = fixtures().resolve("dora-rslora-cls");
                LoraModel lora = LoraModel.fromPretrained(root, "bert", adapter, TestModels.FILES, "default");
                assertThat(lora.config("default").useDora()).isTrue();
                assertThat(lora.config("default").useRslora()).isTrue();
                assertThat(lora.targetedModules()).hasSize(6);
                NDArray want = expected(m, adapter, "logits");
                NDArray out = root.logits(batch(m), ForwardContext.inference(m));
                System.out.printf("dora-rslora-cls: max |peft4j - PEFT| = %.3g%n", TestModels.maxAbsDiff(out, want));
                assertThat(TestModels.maxAbsDiff(out, want)).isLessThanOrEqualTo(1e-4f);
                lora.merge();
                assertThat(TestModels.maxAbsDiff(root.logits(batch(m), ForwardContext.inference(m)), want)).isLessThanOrEqualTo(1e-4f);
            }
        }
    }

    /** GPT-2 Conv1D ([in, out] weights, PEFT fan_in_fan_out) with DoRA, and Llama with layers_to_transform / rank and alpha patterns. */
    @Test
    void decoderAdaptersWrittenByPeftGivePeftsLogits() {
        for (String[] c : new String[][] {{"base-gpt2", "gpt2-dora-fifo", "8"}, {"base-llama", "llama-patterns", "5"}}) {
            try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(c[0]), Device.cpu())) {
                ModelInput input;
                try (SafetensorsFile f = SafetensorsFile.open(fixtures().resolve("decoder-batch.safetensors"))) {
                    Map<String, NDArray> b = f.loadAll(m);
                    input = new ModelInput(b.get("input_ids"), b.get("attention_mask"));
                }
                Path adapter = fixtures().resolve(c[1]);
                NDArray want = expected(m, adapter, "logits");
                NDArray base = model.forward(input, ForwardContext.inference(m)).logits();
                LoraModel lora = LoraModel.fromPretrained(model.module(), model.config().modelType(), adapter, TestModels.FILES, "default");
                assertThat(lora.targetedModules()).as(c[1]).hasSize(Integer.parseInt(c[2]));
                NDArray out = model.forward(input, ForwardContext.inference(m)).logits();
                assertThat(TestModels.maxAbsDiff(base, want)).as(c[1] + " adapter matters").isGreaterThan(1e-3f);
                System.out.printf("%s: max |peft4j - PEFT| = %.3g%n", c[1], TestModels.maxAbsDiff(out, want));
                assertThat(TestModels.maxAbsDiff(out, want)).as(c[1]).isLessThanOrEqualTo(1e-4f);
                lora.merge();
                assertThat(TestModels.maxAbsDiff(model.forward(input, ForwardContext.inference(m)).logits(), want)).as(c[1] + " merged")
                        .isLessThanOrEqualTo(1e-4f);
            }
        }
    }

    /** The Java-written adapters, rebuilt from their seeds, must equal the committed ones PEFT was checked on. */
    @Test
    void javaWrittenAdaptersArePinned(@TempDir Path tmp) throws Exception {
        writeJavaAdapters(tmp);
        writeJavaGpt2Adapter(tmp);
        for (String name : List.of("java-lora", "java-dora", "java-gpt2")) {
            Path committed = fixtures().resolve(name);
            Path fresh = tmp.resolve(name);
            assertThat(Files.readString(fresh.resolve(PeftAdapterConfig.CONFIG_FILE), StandardCharsets.UTF_8))
                    .isEqualTo(Files.readString(committed.resolve(PeftAdapterConfig.CONFIG_FILE), StandardCharsets.UTF_8));
            try (NDManager m = NDManager.newBaseManager();
                    SafetensorsFile a = SafetensorsFile.open(committed.resolve(PeftAdapterConfig.WEIGHTS_FILE));
                    SafetensorsFile b = SafetensorsFile.open(fresh.resolve(PeftAdapterConfig.WEIGHTS_FILE))) {
                assertThat(b.names()).containsExactlyInAnyOrderElementsOf(a.names());
                for (String key : a.names()) {
                    assertThat(b.readFloats(key)).as(key).containsExactly(a.readFloats(key));
                }
                assertThat(TestModels.maxAbsDiff(expected(m, fresh, "logits"), expected(m, committed, "logits"))).isLessThanOrEqualTo(1e-5f);
            }
        }
    }

    /**
     * Writes two adapters trained-looking (fixed seeds, nonzero B) on the base-seqcls fixture, each with the
     * logits peft4j computes: {@code java-lora} (LoRA q,v, bias lora_only, classifier saved, SEQ_CLS) and
     * {@code java-dora} (DoRA + rsLoRA on every dense, query, key, value; no task type).
     * Run with -Dpeft4j.lora.writeFixtures=DIR to refresh the committed copies.
     */
    @SuppressWarnings("try")
    static void writeJavaAdapters(Path out) {
        List<LoraConfig> configs = List.of(
                LoraConfig.builder().adapterName("java-lora").r(4).alpha(8).targetModules("query", "value")
                        .bias(LoraConfig.Bias.LORA_ONLY).modulesToSave(List.of("classifier")).taskType("SEQ_CLS").build(),
                LoraConfig.builder().adapterName("java-dora").r(4).alpha(16).targetModules("query", "key", "value", "dense")
                        .useDora(true).useRslora(true).build());
        for (LoraConfig config : configs) {
            try (NDManager m = NDManager.newBaseManager()) {
                TestModels.Classifier root = seqCls();
                try (TransformerModel model = root.backbone()) {
                    LoraModel lora = LoraModel.create(root, config, "bert", 7);
                    Random random = new Random(13);
                    for (Parameter p : lora.trainableParameters().values()) {
                        NDArray noise = TestModels.randomArray(p.value().getManager(), p.shape(), 0.1, random);
                        p.setValue(p.value().stopGradient().add(noise));
                        noise.close();
                    }
                    Path dir = out.resolve(config.adapterName());
                    lora.save(dir, TestModels.FILES);
                    NDArray logits = root.logits(batch(m), ForwardContext.inference(m));
                    TestModels.FILES.write(dir.resolve("expected.safetensors"), Map.of("logits", logits), Map.of("format", "pt"));
                }
            }
        }
    }

    /** A Java-written rsLoRA adapter on GPT-2's Conv1D layers (fan_in_fan_out) with the logits peft4j computes. */
    @SuppressWarnings("try")
    static void writeJavaGpt2Adapter(Path out) {
        LoraConfig config = LoraConfig.builder().adapterName("java-gpt2").r(2).alpha(4).targetModules("c_attn", "c_proj", "c_fc")
                .useRslora(true).taskType("CAUSAL_LM").build();
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve("base-gpt2"), Device.cpu())) {
            LoraModel lora = LoraModel.create(model.module(), config, "gpt2", 7);
            AdapterMethodContractTest.perturb(lora);
            Path dir = out.resolve(config.adapterName());
            lora.save(dir, TestModels.FILES);
            ModelInput input;
            try (SafetensorsFile f = SafetensorsFile.open(fixtures().resolve("decoder-batch.safetensors"))) {
                Map<String, NDArray> b = f.loadAll(m);
                input = new ModelInput(b.get("input_ids"), b.get("attention_mask"));
            }
            NDArray logits = model.forward(input, ForwardContext.inference(m)).logits();
            TestModels.FILES.write(dir.resolve("expected.safetensors"), Map.of("logits", logits), Map.of("format", "pt"));
        }
    }

    @Test
    void refreshJavaFixturesWhenAsked() {
        String target = System.getProperty("peft4j.lora.writeFixtures", "");
        if (!target.isEmpty()) {
            writeJavaAdapters(Path.of(target));
            writeJavaGpt2Adapter(Path.of(target));
        }
    }
}
