package dev.peft4j.heads;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHead.LabelKind;
import dev.peft4j.api.spi.TaskHeadFactory;
import java.util.List;

/** Factories of the built-in heads (defaults in {@code reference.conf} under {@code peft4j.heads.<name>}). */
final class HeadFactories {
    private HeadFactories() {}

    static List<TaskHeadFactory<?>> all() {
        return List.of(
                new Sequence("sequence-classification", "pooled [CLS]/mean -> dropout -> classifier, cross-entropy", LabelKind.CLASS_ID),
                new Sequence("regression", "pooled -> dropout -> one output, mean squared error (STS-B)", LabelKind.VALUE),
                new Sequence("multi-label", "pooled -> dropout -> classifier, sigmoid + binary cross-entropy per label", LabelKind.MULTI_HOT),
                new Token(),
                new CausalLm(),
                new QuestionAnswering());
    }

    /** The seed a head initialises from: the run's seed (0 without a context, in tests). */
    static long seed(PluginContext context, String name) {
        return (context == null ? 0L : context.seed()) * 31 + name.hashCode();
    }

    static final class Sequence implements TaskHeadFactory<HeadConfig> {
        private final String name;
        private final String description;
        private final LabelKind kind;

        Sequence(String name, String description, LabelKind kind) {
            this.name = name;
            this.description = description;
            this.kind = kind;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public String description() {
            return description;
        }

        @Override
        public HeadConfig parseConfig(Config section) {
            return HeadConfig.parse(section, true, kind == LabelKind.VALUE);
        }

        @Override
        public TaskHead create(TransformerModel backbone, HeadConfig config, PluginContext context) {
            return new SequenceHead(new ClassifierModules(backbone, config, seed(context, name), name), config, kind);
        }
    }

    static final class Token implements TaskHeadFactory<HeadConfig> {
        @Override
        public String name() {
            return "token-classification";
        }

        @Override
        public String description() {
            return "per-token dropout -> classifier, cross-entropy on each word's first sub-token";
        }

        @Override
        public HeadConfig parseConfig(Config section) {
            return HeadConfig.parse(section, false, false);
        }

        @Override
        public TaskHead create(TransformerModel backbone, HeadConfig config, PluginContext context) {
            return new TokenClassificationHead(new ClassifierModules(backbone, config, seed(context, name()), name()), config);
        }
    }

    /** {@code causal-lm}: no keys of its own (the decoder's {@code lm_head} is the head). */
    record CausalLmConfig() {}

    static final class CausalLm implements TaskHeadFactory<CausalLmConfig> {
        @Override
        public String name() {
            return "causal-lm";
        }

        @Override
        public String description() {
            return "the decoder's own lm_head logits, next-token cross-entropy (-100 masked), perplexity";
        }

        @Override
        public CausalLmConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "").allow("name");
            r.finish();
            return new CausalLmConfig();
        }

        @Override
        public TaskHead create(TransformerModel backbone, CausalLmConfig config, PluginContext context) {
            return new CausalLmHead(backbone);
        }
    }

    static final class QuestionAnswering implements TaskHeadFactory<QuestionAnsweringConfig> {
        @Override
        public String name() {
            return "question-answering";
        }

        @Override
        public String description() {
            return "extractive QA: qa_outputs on every token -> start/end logits, SQuAD exact match and F1";
        }

        @Override
        public QuestionAnsweringConfig parseConfig(Config section) {
            return QuestionAnsweringConfig.parse(section);
        }

        @Override
        public TaskHead create(TransformerModel backbone, QuestionAnsweringConfig config, PluginContext context) {
            return new QuestionAnsweringHead(backbone, config, seed(context, name()));
        }
    }
}
