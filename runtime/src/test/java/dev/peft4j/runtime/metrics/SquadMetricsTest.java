package dev.peft4j.runtime.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Expected values from the official SQuAD v2.0 evaluation script's {@code normalize_answer}, {@code compute_exact} and
 * {@code compute_f1}, run with Python 3.11 on exactly these pairs (gold, predicted).
 */
class SquadMetricsTest {
    private record Case(String gold, String predicted, int exact, double f1, String normalized) {}

    private static final List<Case> CASES = List.of(
            new Case("The Eiffel Tower", "eiffel tower", 1, 1.0, "eiffel tower"),
            new Case("Denver Broncos", "the Denver Broncos!", 1, 1.0, "denver broncos"),
            new Case("Santa Clara, California", "Levi's Stadium in Santa Clara", 0, 0.5, "levis stadium in santa clara"),
            new Case("an apple a day", "apple day", 1, 1.0, "apple day"),
            new Case("1996-08-22", "1996 08 22", 0, 0, "1996 08 22"),
            new Case("1996-08-22", "19960822", 1, 1.0, "19960822"),
            new Case("", "", 1, 1, ""),
            new Case("", "something", 0, 0, "something"),
            new Case("the", "", 1, 1, ""),
            new Case("New York  New York", "new york", 0, 0.6666666666666666, "new york"),
            new Case("Théâtre  d'Été", "théâtre dété", 1, 1.0, "théâtre dété"),
            new Case("theater", "the ater", 0, 0, "ater"),
            new Case("A.B.C.", "abc", 1, 1.0, "abc"),
            new Case("one two three four", "two four five", 0, 0.5714285714285715, "two four five"));

    @Test
    void matchesTheOfficialScriptOnFixedCases() {
        for (Case c : CASES) {
            assertThat(SquadMetrics.normalize(c.predicted())).as(c.toString()).isEqualTo(c.normalized());
            assertThat(SquadMetrics.exact(c.gold(), c.predicted())).as(c.toString()).isEqualTo(c.exact());
            assertThat(SquadMetrics.f1(c.gold(), c.predicted())).as(c.toString()).isCloseTo(c.f1(), within(1e-12));
        }
    }

    @Test
    void aQuestionScoresItsBestGoldAnswerAndTotalsArePercentages() {
        assertThat(SquadMetrics.score(List.of("Santa Clara, California", "Santa Clara"), "in Santa Clara")).containsExactly(0.0, 0.8);
        assertThat(SquadMetrics.score(List.of("Denver", "the Denver Broncos"), "Denver Broncos")).containsExactly(1.0, 1.0);
        // unanswerable (no gold answer): only the empty prediction is right
        assertThat(SquadMetrics.score(List.of(), "")).containsExactly(1.0, 1.0);
        assertThat(SquadMetrics.score(List.of(), "Denver")).containsExactly(0.0, 0.0);
        Map<String, Double> totals = SquadMetrics.totals(List.of(List.of("Denver Broncos"), List.of("Santa Clara, California"), List.of()),
                List.of("the Denver Broncos", "Levi's Stadium in Santa Clara", "x"));
        assertThat(totals.get("exact_match")).isCloseTo(100.0 / 3, within(1e-9));
        assertThat(totals.get("f1")).isCloseTo(100 * 1.5 / 3, within(1e-9));
    }
}
