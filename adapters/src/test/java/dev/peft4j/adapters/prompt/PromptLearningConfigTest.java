package dev.peft4j.adapters.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.bert.BertModel;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Config defaults and mapping, and the bad inputs of issue 10, each with a clear error naming the key. */
class PromptLearningConfigTest {
    @Test
    void defaultsAreRecorded() {
        assertThat(PrefixTuningConfig.from(PromptLearningTests.section("prefix-tuning", ""))).isEqualTo(new PrefixTuningConfig(20, false, 0));
        assertThat(PromptTuningConfig.from(PromptLearningTests.section("prompt-tuning", ""))).isEqualTo(new PromptTuningConfig(20, "random", ""));
    }

    @Test
    void everyKeyMaps() {
        assertThat(PrefixTuningConfig.from(PromptLearningTests.section("prefix-tuning",
                "num-virtual-tokens = 7, prefix-projection = true, encoder-hidden-size = 48"))).isEqualTo(new PrefixTuningConfig(7, true, 48));
        assertThat(PromptTuningConfig.from(PromptLearningTests.section("prompt-tuning", "num-virtual-tokens = 4, init = text, init-text = \"hi\"")))
                .isEqualTo(new PromptTuningConfig(4, "text", "hi"));
    }

    @Test
    void badValuesAreReportedTogetherNamingTheKey() {
        assertThatThrownBy(() -> PrefixTuningConfig.from(PromptLearningTests.section("prefix-tuning",
                "num-virtual-tokens = 0, encoder-hidden-size = 8, typo = 1")))
                .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).hasSize(3))
                .hasMessageContaining("num-virtual-tokens").hasMessageContaining("is 0")
                .hasMessageContaining("encoder-hidden-size").hasMessageContaining("prefix-projection = false")
                .hasMessageContaining("typo");
        assertThatThrownBy(() -> PromptTuningConfig.from(PromptLearningTests.section("prompt-tuning", "num-virtual-tokens = -3, init = text")))
                .hasMessageContaining("num-virtual-tokens").hasMessageContaining("init-text");
        assertThatThrownBy(() -> PromptTuningConfig.from(PromptLearningTests.section("prompt-tuning", "init = vocab")))
                .hasMessageContaining("init");
    }

    /** Encodes every text as [CLS]=1, one id per character (c - 'a' + 10), [SEP]=2. */
    static final class CharTokenizer implements TextTokenizer {
        @Override
        public Encoding encode(String text, int maxLength) {
            long[] ids = new long[text.length() + 2];
            ids[0] = 1;
            for (int i = 0; i < text.length(); i++) {
                ids[i + 1] = text.charAt(i) - 'a' + 10;
            }
            ids[ids.length - 1] = 2;
            return new Encoding(ids, null, null, null, null);
        }

        @Override
        public Encoding encodePair(String first, String second, int maxLength) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Encoding encodeWords(List<String> words, int maxLength) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String decode(long[] ids, boolean skipSpecialTokens) {
            throw new UnsupportedOperationException();
        }

        @Override
        public OptionalLong tokenId(String token) {
            return OptionalLong.empty();
        }

        @Override
        public long padTokenId() {
            return 0;
        }

        @Override
        public int vocabSize() {
            return 99;
        }

        @Override
        public void close() {}
    }

    @Test
    void textInitCopiesTheTextsTokenEmbeddingsRepeatedToPAndTooLongATextIsAnError() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = PromptLearningTestModels.bert(m, 4)) {
            long before = bert.module().parameterCount();
            PromptTuningConfig tooLong = new PromptTuningConfig(3, "text", "abc");
            assertThatThrownBy(() -> new PromptTuningMethod().apply(bert.module(), tooLong,
                    PromptLearningTestModels.context(bert, new CharTokenizer(), 1)))
                    .hasMessageContaining("method.init-text is 5 tokens long").hasMessageContaining("num-virtual-tokens = 3");
            assertThat(bert.module().parameterCount()).isEqualTo(before);
            assertThat(bert.forwardHooks().isEmpty()).isTrue();

            PromptLearningModel prompt = new PromptTuningMethod().apply(bert.module(), new PromptTuningConfig(7, "text", "ab"),
                    PromptLearningTestModels.context(bert, new CharTokenizer(), 1));
            NDArray words = bert.module().find("embeddings.word_embeddings").parameter("weight").value();
            NDArray expected = words.get(m.create(new long[] {1, 10, 11, 2, 1, 10, 11})); // [CLS] a b [SEP] repeated to 7
            NDArray actual = prompt.encoder().child("embedding").parameter("weight").value();
            assertThat(actual.sub(expected).abs().max().getFloat()).isEqualTo(0f);
            assertThat(prompt.trainableParameters()).containsOnlyKeys("prompt_encoder.default.embedding.weight");
        }
    }

    @Test
    void prefixPlusSequenceBeyondMaxPositionsNamesTheKey() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = PromptLearningTestModels.bert(m, 4)) {
            new PrefixTuningMethod().apply(bert.module(), new PrefixTuningConfig(60, false, 0), PromptLearningTestModels.context(bert, null, 1));
            assertThatThrownBy(() -> PromptLearningTestModels.output(bert, ForwardContext.inference(m)))
                    .hasMessageContaining("num-virtual-tokens = 60 plus the sequence length 7 exceed the model's 64 positions");
        }
    }

    @Test
    void aSecondPromptLearningMethodIsRefusedWithoutChangingTheModel() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = PromptLearningTestModels.bert(m, 4)) {
            new PrefixTuningMethod().apply(bert.module(), new PrefixTuningConfig(2, false, 0), PromptLearningTestModels.context(bert, null, 1));
            long before = bert.module().parameterCount();
            assertThatThrownBy(() -> new PromptTuningMethod().apply(bert.module(), new PromptTuningConfig(2, "random", ""),
                    PromptLearningTestModels.context(bert, null, 1))).hasMessageContaining("already has a 'prompt_encoder'");
            assertThat(bert.module().parameterCount()).isEqualTo(before);
            assertThat(bert.forwardHooks().list()).hasSize(1);
        }
    }

    @Test
    void prefixTextInitIsTheTextsKeysAndValuesSoADecoderSeesTheTextBeforeTheInput() {
        long[] text = {1, 10, 11, 2}; // CharTokenizer: [CLS] a b [SEP]
        try (NDManager m = NDManager.newBaseManager(); var llama = PromptLearningTestModels.llama(m, 3); var gpt2 = PromptLearningTestModels.gpt2(m, 3)) {
            for (dev.peft4j.api.model.TransformerModel model : List.of(llama, gpt2)) {
                long[] input = {9, 4, 22, 8};
                long[] both = {1, 10, 11, 2, 9, 4, 22, 8};
                NDArray expected = model.forward(new dev.peft4j.api.model.ModelInput(m.create(both, new ai.djl.ndarray.types.Shape(1, 8)),
                        m.ones(new ai.djl.ndarray.types.Shape(1, 8), ai.djl.ndarray.types.DataType.INT64)), ForwardContext.inference(m)).logits()
                        .get(new ai.djl.ndarray.index.NDIndex(":, 4:, :"));
                PrefixTuningConfig config = PrefixTuningConfig.from(PromptLearningTests.section("prefix-tuning",
                        "num-virtual-tokens = 4, init = text, init-text = ab"));
                new PrefixTuningMethod().apply(model.module(), config, PromptLearningTestModels.context(model, new CharTokenizer(), 1));
                NDArray actual = model.forward(new dev.peft4j.api.model.ModelInput(m.create(input, new ai.djl.ndarray.types.Shape(1, 4)),
                        m.ones(new ai.djl.ndarray.types.Shape(1, 4), ai.djl.ndarray.types.DataType.INT64)), ForwardContext.inference(m)).logits();
                assertThat(actual.sub(expected).abs().max().getFloat()).as(model.config().modelType()).isLessThan(1e-5f);
                assertThat(text).hasSize(4);
            }
        }
        assertThatThrownBy(() -> PrefixTuningConfig.from(PromptLearningTests.section("prefix-tuning",
                "init = text, init-text = ab, prefix-projection = true"))).hasMessageContaining("prefix-projection = true");
    }
}
