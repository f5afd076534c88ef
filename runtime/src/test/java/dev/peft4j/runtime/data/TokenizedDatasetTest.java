package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.spi.DatasetReader.Example;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class TokenizedDatasetTest {
    private final FakeTokenizer tokenizer = new FakeTokenizer(100);

    @Test
    void labelVocabularyFromDataSortsIntegersNumerically() {
        assertThat(LabelVocabulary.fromData(List.of("10", "2", "0")).labels()).containsExactly("0", "2", "10");
        assertThat(LabelVocabulary.fromData(List.of("neg", "pos", "mid")).labels()).containsExactly("mid", "neg", "pos");
        LabelVocabulary v = LabelVocabulary.of(List.of("a", "b"));
        assertThatThrownBy(() -> v.id("c", "f.tsv:7")).isInstanceOf(DataException.class).hasMessageContaining("f.tsv:7: label 'c' is not in");
        // issue #15: one number written three ways used to become three classes (or, sorted numerically, lose one)
        assertThatThrownBy(() -> LabelVocabulary.requireOneSpellingPerNumber(List.of("0", "1", "1.0", "01"))).isInstanceOf(DataException.class)
                .hasMessageContaining("the labels '01', '1', '1.0' are one number written differently and would become 3 separate classes");
        LabelVocabulary.requireOneSpellingPerNumber(List.of("0.5", "1.5", "neg"));
        assertThat(LabelVocabulary.fromData(List.of("1", "01", "0")).labels()).containsExactly("0", "01", "1");
    }

    @Test
    void tokenLabelsGoOnFirstSubTokenOnly() {
        Example e = new Example(Map.of("tokens", List.of("Blackburn", "is", "here"), "tags", List.of("B-PER", "O", "O")), "f:1");
        LabelVocabulary v = LabelVocabulary.of(List.of("O", "B-PER"));
        TokenizedDataset d = TokenizedDataset.encode(List.of(e), tokenizer, 64, TaskKind.TOKEN_CLASSIFICATION, v, true);
        // [CLS] blac ##kbur ##n is here [SEP]
        assertThat(d.get(0).tokenLabels()).containsExactly(-100, 1, -100, -100, 0, 0, -100);
        assertThat(d.get(0).wordIds()).containsExactly(-1, 0, 0, 0, 1, 2, -1);
    }

    @Test
    void pairsRegressionAndMultiLabel() {
        Example pair = new Example(Map.of("text", "a b", "text_pair", "c", "label", "3.5"), "f:2");
        TokenizedDataset r = TokenizedDataset.encode(List.of(pair), tokenizer, 64, TaskKind.REGRESSION, null, true);
        assertThat(r.get(0).typeIds()).containsExactly(0, 0, 0, 0, 1, 1);
        assertThat(r.get(0).value()).isEqualTo(3.5f);
        Example multi = new Example(Map.of("text", "x", "label", "b, c"), "f:3");
        TokenizedDataset m = TokenizedDataset.encode(List.of(multi), tokenizer, 64, TaskKind.MULTI_LABEL,
                LabelVocabulary.of(List.of("a", "b", "c")), true);
        assertThat(m.get(0).multiHot()).containsExactly(0f, 1f, 1f);
        Example bad = new Example(Map.of("text", "x", "label", "high"), "f:9");
        assertThatThrownBy(() -> TokenizedDataset.encode(List.of(bad), tokenizer, 64, TaskKind.REGRESSION, null, true))
                .hasMessageContaining("f:9: label 'high' is not a number");
    }

    private TokenizedDataset many(int n) {
        List<Example> ex = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ex.add(new Example(Map.of("text", "w ".repeat(1 + (i * 7) % 13), "label", String.valueOf(i % 2)), "f:" + i));
        }
        return TokenizedDataset.encode(ex, tokenizer, 64, TaskKind.CLASSIFICATION, LabelVocabulary.of(List.of("0", "1")), true);
    }

    @Test
    void batchingIsDeterministicCoversEveryExampleOnceAndPadsDynamically() {
        TokenizedDataset d = many(50);
        Batcher batcher = new Batcher(d, 8, 4, 0);
        List<Batch> a = batcher.trainingEpoch(42, 0);
        List<Batch> b = batcher.trainingEpoch(42, 0);
        List<Batch> c = batcher.trainingEpoch(42, 1);
        assertThat(a).hasSize(7);
        assertThat(indexes(a)).isEqualTo(indexes(b)).isNotEqualTo(indexes(c));
        assertThat(indexes(a).stream().flatMap(List::stream).sorted().collect(Collectors.toList()))
                .isEqualTo(java.util.stream.IntStream.range(0, 50).boxed().collect(Collectors.toList()));
        for (Batch batch : a) {
            assertThat(batch.seqLength()).isEqualTo(batch.examples().stream().mapToInt(EncodedExample::length).max().getAsInt());
        }
        // bucketing: padding waste well below a random order's
        long padded = a.stream().mapToLong(x -> (long) x.size() * x.seqLength()).sum();
        assertThat((double) d.tokenCount() / padded).isGreaterThan(0.8);
    }

    private static List<List<Integer>> indexes(List<Batch> batches) {
        return batches.stream().map(x -> x.examples().stream().map(EncodedExample::index).collect(Collectors.toList())).collect(Collectors.toList());
    }
}
