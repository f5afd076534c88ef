package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.TaskHead.SpanOptions;
import dev.peft4j.runtime.train.SpanDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The SQuAD reader, windows of long contexts with their answer positions, and span decoding back to characters. */
class SquadDataTest {
    @TempDir
    Path dir;

    static final String SQUAD = """
            {"version": "v2.0", "data": [{"title": "Broncos", "paragraphs": [
              {"context": "The Denver Broncos defeated the Carolina Panthers 24-10 to win Super Bowl 50.",
               "qas": [
                 {"id": "q1", "question": "Who won Super Bowl 50?", "answers": [{"text": "Denver Broncos", "answer_start": 4},
                                                                             {"text": "The Denver Broncos", "answer_start": 0}]},
                 {"id": "q2", "question": "What was the score?", "answers": [{"text": "24-10", "answer_start": 50},
                                                                           {"text": "24 to 10", "answer_start": 50}]},
                 {"id": "bad", "question": "Who lost?", "answers": [{"text": "Carolina Panthers", "answer_start": 3}]},
                 {"id": "q3", "question": "Who coached the Jets?", "answers": [], "is_impossible": true}
               ]}]}]}
            """;

    static List<Example> read(String json, Path dir) throws Exception {
        Path f = dir.resolve("squad.json");
        Files.writeString(f, json, StandardCharsets.UTF_8);
        return ReadersTest.reader("squad", "").read(new FileSource(f));
    }

    @Test
    void readsV1AndV2RecordsAndSkipsAndCountsAnAnswerThatIsNotInItsContext() throws Exception {
        Path f = dir.resolve("squad.json");
        Files.writeString(f, SQUAD, StandardCharsets.UTF_8);
        SquadReader reader = (SquadReader) ReadersTest.reader("squad", "");
        List<Example> ex = reader.read(new FileSource(f));
        assertThat(ex).extracting(e -> e.fields().get(Fields.ID)).containsExactly("q1", "q2", "q3");
        assertThat(reader.skippedIds()).containsExactly("bad");
        assertThat(ex.get(0).fields().get(Fields.ANSWERS)).isEqualTo(List.of("Denver Broncos", "The Denver Broncos"));
        assertThat(ex.get(0).fields().get(Fields.ANSWER_STARTS)).isEqualTo(List.of(4, 0));
        // of q2's answers only the one found at its offset is kept
        assertThat(ex.get(1).fields().get(Fields.ANSWERS)).isEqualTo(List.of("24-10"));
        assertThat(ex.get(2).fields().get(Fields.ANSWERS)).isEqualTo(List.of());
        assertThat(ex.get(2).origin()).contains("data[0].paragraphs[0].qas[3]").contains("q3");

        Files.writeString(f, "{\"data\": [{\"paragraphs\": [{\"qas\": []}]}]}", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> ReadersTest.reader("squad", "").read(new FileSource(f)))
                .isInstanceOf(DataException.class).hasMessageContaining("data[0].paragraphs[0]").hasMessageContaining("\"context\" is missing");
        assertThatThrownBy(() -> ReadersTest.reader("squad", "unknown = 1")).hasMessageContaining("unknown");
    }

    @Test
    void longContextsGiveOverlappingWindowsLabelledWithTheAnswerTokensOrTheFirstToken() throws Exception {
        String context = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon";
        int answerStart = context.indexOf("lambda mu");
        Example e = new Example(java.util.Map.of(Fields.ID, "w", Fields.QUESTION, "which letters", Fields.CONTEXT, context,
                Fields.ANSWERS, List.of("lambda mu"), Fields.ANSWER_STARTS, List.of(answerStart)), "t:1");
        FakeTokenizer tokenizer = new FakeTokenizer(64);
        // question: "which", "lett", "##ers" = 3 pieces; 16 - 3 - 3 = 10 context pieces per window, 4 shared
        TokenizedDataset data = TokenizedDataset.encodeSpans(List.of(e), tokenizer, 16, new SpanOptions(4, 30, 20, false), true);
        assertThat(data.exampleCount()).isEqualTo(1);
        assertThat(data.size()).isGreaterThanOrEqualTo(3);
        int holding = 0;
        for (EncodedExample w : data.encoded()) {
            assertThat(w.length()).isLessThanOrEqualTo(16);
            EncodedExample.SpanFeature s = w.span();
            assertThat(s.example()).isZero();
            if (s.start() == 0) {
                assertThat(s.end()).isZero();
                continue;
            }
            holding++;
            assertThat(context.substring(s.charStarts()[s.start()], s.charEnds()[s.end()])).isEqualTo("lambda mu");
        }
        assertThat(holding).isGreaterThanOrEqualTo(1).isLessThan(data.size());
        assertThat(data.encoded()).allMatch(EncodedExample::labelled);
        // an unanswerable question is labelled with the first token in every window
        Example none = new Example(java.util.Map.of(Fields.QUESTION, "q", Fields.CONTEXT, context, Fields.ANSWERS, List.of(),
                Fields.ANSWER_STARTS, List.of()), "t:2");
        assertThat(TokenizedDataset.encodeSpans(List.of(none), tokenizer, 16, new SpanOptions(4, 30, 20, false), true).encoded())
                .allMatch(w -> w.span().start() == 0 && w.span().end() == 0);
        // no answers field: only for prediction
        Example unlabelled = new Example(java.util.Map.of(Fields.QUESTION, "q", Fields.CONTEXT, context), "t:3");
        assertThatThrownBy(() -> TokenizedDataset.encodeSpans(List.of(unlabelled), tokenizer, 16, new SpanOptions(4, 30, 20, false), true))
                .hasMessageContaining("t:3").hasMessageContaining("no answers");
        assertThat(TokenizedDataset.encodeSpans(List.of(unlabelled), tokenizer, 16, new SpanOptions(4, 30, 20, false), false).encoded())
                .noneMatch(EncodedExample::labelled);
    }

    @Test
    void decodingPicksTheBestValidSpanAcrossWindowsAndMapsItToCharacters() {
        String context = "The Denver Broncos won";
        // tokens: 0 [CLS], 1 question, 2 [SEP], 3 the, 4 denver, 5 broncos, 6 won, 7 [SEP]
        int[] starts = {-1, -1, -1, 0, 4, 11, 19, -1};
        int[] ends = {-1, -1, -1, 3, 10, 18, 22, -1};
        EncodedExample.SpanFeature f = new EncodedExample.SpanFeature(0, starts, ends, 0, 0);
        float[] s = {1f, 9f, 0f, 0f, 5f, 1f, 0f, 0f};   // the question token scores highest but is not context
        float[] e = {1f, 0f, 0f, 0f, 1f, 4f, 2f, 9f};
        SpanOptions options = new SpanOptions(0, 30, 20, false);
        SpanDecoder.Answer a = SpanDecoder.decode(context, List.of(f), List.of(s), List.of(e), options);
        assertThat(a.text()).isEqualTo("Denver Broncos");
        assertThat(a.start()).isEqualTo(4);
        assertThat(a.end()).isEqualTo(18);
        assertThat(a.score()).isEqualTo(9.0);
        // a maximum answer length of 1 token leaves "Denver" (5 + 1) beaten by... the best one-token span
        assertThat(SpanDecoder.decode(context, List.of(f), List.of(s), List.of(e), new SpanOptions(0, 1, 20, false)).text()).isEqualTo("Denver");
        // n-best = 1: only start 1 (question, dropped) and end 7 (special, dropped) are tried: nothing valid is left
        assertThat(SpanDecoder.decode(context, List.of(f), List.of(s), List.of(e), new SpanOptions(0, 30, 1, false)).text()).isEmpty();
        // no answer wins only when allowed and its score (1 + 1 = 2) beats the best span's: here it does not, with a null score of 12 it does
        assertThat(SpanDecoder.decode(context, List.of(f), List.of(s), List.of(e), new SpanOptions(0, 30, 20, true)).text()).isEqualTo("Denver Broncos");
        float[] s2 = s.clone();
        s2[0] = 11f;
        SpanDecoder.Answer none = SpanDecoder.decode(context, List.of(f), List.of(s2), List.of(e), new SpanOptions(0, 30, 20, true));
        assertThat(none.text()).isEmpty();
        assertThat(none.start()).isEqualTo(-1);
        // a second window with a better span wins
        EncodedExample.SpanFeature g = new EncodedExample.SpanFeature(0, new int[] {-1, -1, 19, -1}, new int[] {-1, -1, 22, -1}, 0, 0);
        SpanDecoder.Answer two = SpanDecoder.decode(context, List.of(f, g), List.of(s, new float[] {0f, 0f, 8f, 0f}),
                List.of(e, new float[] {0f, 0f, 8f, 0f}), options);
        assertThat(two.text()).isEqualTo("won");
        assertThat(two.score()).isEqualTo(16.0);
    }
}
