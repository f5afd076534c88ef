package dev.peft4j.runtime.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected values come from tools/metrics/expected_metrics.py (scikit-learn 1.7, SciPy, seqeval 1.2). */
class MetricsTest {
    static final int[] BIN_GOLD = {0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1};
    static final int[] BIN_PRED = {0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 1};
    static final int[] MC_GOLD = {0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 1, 2, 2, 0};
    static final int[] MC_PRED = {0, 2, 2, 1, 1, 0, 3, 2, 1, 0, 2, 0, 1, 1, 2, 0};
    static final double[] X = {1.0, 2.5, 2.5, 3.0, 4.2, 4.2, 4.2, 5.0, 0.5, 3.3, 2.0, 6.1};
    static final double[] Y = {0.8, 2.0, 3.1, 3.1, 3.9, 5.2, 4.0, 4.4, 1.1, 3.1, 1.5, 5.9};
    static final List<List<String>> SEQ_GOLD = List.of(
            List.of("B-PER", "I-PER", "O", "B-LOC", "O"),
            List.of("I-ORG", "I-ORG", "O", "B-MISC", "I-MISC", "I-MISC"),
            List.of("O", "B-PER", "B-PER", "I-LOC", "O"),
            List.of("B-LOC", "O", "O", "B-ORG", "I-ORG"));
    static final List<List<String>> SEQ_PRED = List.of(
            List.of("B-PER", "I-PER", "O", "B-LOC", "B-LOC"),
            List.of("B-ORG", "I-ORG", "O", "B-MISC", "I-MISC", "O"),
            List.of("O", "I-PER", "B-PER", "I-PER", "O"),
            List.of("B-LOC", "O", "I-ORG", "I-ORG", "I-ORG"));

    @Test
    void binaryClassificationMatchesScikitLearn() {
        assertThat(ClassificationMetrics.accuracy(BIN_GOLD, BIN_PRED)).isEqualTo(0.75);
        assertThat(ClassificationMetrics.f1(BIN_GOLD, BIN_PRED, 1)).isCloseTo(0.7619047619047619, within(1e-12));
        assertThat(ClassificationMetrics.f1(BIN_GOLD, BIN_PRED, 0)).isCloseTo(0.7368421052631579, within(1e-12));
        assertThat(ClassificationMetrics.matthews(BIN_GOLD, BIN_PRED)).isCloseTo(0.502518907629606, within(1e-12));
    }

    @Test
    void multiClassMatchesScikitLearnIncludingALabelOnlyPredicted() {
        assertThat(ClassificationMetrics.accuracy(MC_GOLD, MC_PRED)).isEqualTo(0.6875);
        assertThat(ClassificationMetrics.macroF1(MC_GOLD, MC_PRED)).isCloseTo(0.5318181818181817, within(1e-12));
        assertThat(ClassificationMetrics.matthews(MC_GOLD, MC_PRED)).isCloseTo(0.5487954724560282, within(1e-12));
    }

    @Test
    void matthewsIsZeroWhenPredictionsAreConstant() {
        int[] constant = new int[BIN_GOLD.length];
        java.util.Arrays.fill(constant, 1);
        assertThat(ClassificationMetrics.matthews(BIN_GOLD, constant)).isEqualTo(0.0);
        assertThat(ClassificationMetrics.f1(new int[] {0, 0}, new int[] {0, 0}, 1)).isEqualTo(0.0);
    }

    @Test
    void correlationsMatchSciPyWithTies() {
        assertThat(CorrelationMetrics.pearson(X, Y)).isCloseTo(0.9510604340657689, within(1e-12));
        assertThat(CorrelationMetrics.spearman(X, Y)).isCloseTo(0.9591489375139116, within(1e-12));
        assertThat(CorrelationMetrics.averageRanks(new double[] {3, 1, 3, 2, 3})).containsExactly(4, 1, 4, 2, 4);
        assertThat(CorrelationMetrics.pearson(new double[] {1, 1, 1}, new double[] {1, 2, 3})).isNaN();
    }

    @Test
    void entitiesFollowSeqevalIncludingIWithoutB() {
        assertThat(EntityMetrics.entities(List.of("I-ORG", "I-ORG", "O", "B-MISC", "I-MISC", "I-MISC")))
                .containsExactly(new EntityMetrics.Entity("ORG", 0, 1), new EntityMetrics.Entity("MISC", 3, 5));
        assertThat(EntityMetrics.entities(List.of("O", "B-PER", "B-PER", "I-LOC", "O"))).containsExactly(
                new EntityMetrics.Entity("PER", 1, 1), new EntityMetrics.Entity("PER", 2, 2), new EntityMetrics.Entity("LOC", 3, 3));
        assertThat(EntityMetrics.entities(List.of("O", "I-PER", "B-PER", "I-PER", "O")))
                .containsExactly(new EntityMetrics.Entity("PER", 1, 1), new EntityMetrics.Entity("PER", 2, 3));
        assertThat(EntityMetrics.entities(List.of("B-LOC", "O", "I-ORG", "I-ORG", "I-ORG")))
                .containsExactly(new EntityMetrics.Entity("LOC", 0, 0), new EntityMetrics.Entity("ORG", 2, 4));
    }

    @Test
    void entityScoresMatchSeqevalReport() {
        EntityMetrics.Report report = EntityMetrics.score(SEQ_GOLD, SEQ_PRED);
        assertThat(report.perType().keySet()).containsExactly("LOC", "MISC", "ORG", "PER");
        assertThat(report.perType().get("LOC").f1()).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(report.perType().get("LOC").support()).isEqualTo(3);
        assertThat(report.perType().get("MISC").f1()).isEqualTo(0.0);
        assertThat(report.perType().get("ORG").precision()).isCloseTo(0.5, within(1e-12));
        assertThat(report.perType().get("ORG").recall()).isCloseTo(0.5, within(1e-12));
        assertThat(report.perType().get("PER").precision()).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(report.micro().precision()).isCloseTo(0.5555555555555556, within(1e-12));
        assertThat(report.micro().recall()).isCloseTo(0.5555555555555556, within(1e-12));
        assertThat(report.micro().f1()).isCloseTo(0.5555555555555556, within(1e-12));
        assertThat(report.micro().support()).isEqualTo(9);
        assertThat(report.macro().f1()).isCloseTo(0.45833333333333326, within(1e-12));
    }

    @Test
    void lossMeanIsWeightedAndPerplexityIsItsExponential() {
        LossMetrics loss = new LossMetrics();
        loss.add(2.0, 1);
        loss.add(2.4, 3);
        assertThat(loss.mean()).isCloseTo(2.3, within(1e-12));
        assertThat(loss.perplexity()).isCloseTo(9.974182454814718, within(1e-9));
        assertThat(new LossMetrics().mean()).isNaN();
    }

    @Test
    void mismatchedLengthsAreRejected() {
        assertThatThrownBy(() -> ClassificationMetrics.accuracy(new int[] {1}, new int[] {1, 0}))
                .hasMessageContaining("gold has 1 labels but predicted has 2");
        assertThatThrownBy(() -> EntityMetrics.score(List.of(List.of("O")), List.of(List.of("O", "O"))))
                .hasMessageContaining("sentence 0");
    }
}
