package dev.peft4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RandomInitTest {
    static final BertConfig CONFIG = BertConfig.of(200, 64, 2, 4, 128, 40);
    static NDManager base;

    @BeforeAll
    static void start() {
        Engines.pytorch();
        base = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        base.close();
    }

    private static float[] values(BertModel model, String name) {
        return model.module().namedParameters().get(name).value().toFloatArray();
    }

    @Test
    void followsHfInitWeights() {
        try (BertModel model = BertModel.random(CONFIG, base, 1)) {
            RandomInit.reinitialize(model, 7);
            Map<String, Parameter> params = model.module().namedParameters();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                float[] v = e.getValue().value().toFloatArray();
                String name = e.getKey();
                if (name.endsWith("LayerNorm.weight")) {
                    assertThat(v).as(name).containsOnly(1f);
                } else if (name.endsWith(".bias")) {
                    assertThat(v).as(name).containsOnly(0f);
                } else {
                    double sum = 0;
                    double sq = 0;
                    for (float x : v) {
                        sum += x;
                        sq += (double) x * x;
                    }
                    int n = v.length;
                    if (name.equals("embeddings.word_embeddings.weight")) {
                        n -= 64; // the padding row (pad_token_id 0) is zero
                    }
                    double mean = sum / n;
                    double std = Math.sqrt(sq / n - mean * mean);
                    assertThat(std).as(name + " std").isCloseTo(0.02, within(0.02 * 6 / Math.sqrt(n) + 1e-4));
                    assertThat(mean).as(name + " mean").isCloseTo(0.0, within(0.02 * 6 / Math.sqrt(n)));
                }
            }
            float[] words = values(model, "embeddings.word_embeddings.weight");
            for (int i = 0; i < 64; i++) {
                assertThat(words[i]).as("padding row").isZero();
            }
            assertThat(words[64]).isNotZero();
        }
    }

    @Test
    void sameSeedSameWeightsOtherSeedOtherWeights() {
        try (BertModel a = BertModel.random(CONFIG, base, 1); BertModel b = BertModel.random(CONFIG, base, 2);
                BertModel c = BertModel.random(CONFIG, base, 3)) {
            RandomInit.reinitialize(a, 11);
            RandomInit.reinitialize(b, 11);
            RandomInit.reinitialize(c, 12);
            String name = "encoder.layer.1.attention.self.query.weight";
            assertThat(values(a, name)).containsExactly(values(b, name));
            assertThat(values(a, name)).isNotEqualTo(values(c, name));
            assertThat(a.module().parameterCount()).isEqualTo(b.module().parameterCount());
        }
    }
}
