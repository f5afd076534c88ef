package dev.peft4j.heads;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * The {@code question-answering} head's config: {@code doc-stride} (context tokens shared by consecutive windows of a long
 * context, HF's {@code stride}), {@code max-answer-length} (tokens), {@code n-best} (start and end candidates per window),
 * {@code allow-no-answer} (SQuAD 2.0: predict no answer when the first token's start + end score beats the best span's),
 * {@code dropout} before {@code qa_outputs} (HF's BertForQuestionAnswering has none: default 0) and the initial weight
 * standard deviation {@code initializer-range}.
 */
public record QuestionAnsweringConfig(int docStride, int maxAnswerLength, int nBest, boolean allowNoAnswer, float dropout, float initializerRange) {
    static QuestionAnsweringConfig parse(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        int stride = r.intValue("doc-stride", 0, 1_000_000);
        int maxAnswer = r.intValue("max-answer-length", 1, 1_000_000);
        int nBest = r.intValue("n-best", 1, 1000);
        boolean allowNoAnswer = r.bool("allow-no-answer");
        float dropout = (float) r.doubleValue("dropout", 0, true, 1, false);
        float range = (float) r.doubleValue("initializer-range", 0, true, 10, true);
        r.finish();
        return new QuestionAnsweringConfig(stride, maxAnswer, nBest, allowNoAnswer, dropout, range);
    }
}
