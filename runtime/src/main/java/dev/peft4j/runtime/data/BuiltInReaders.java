package dev.peft4j.runtime.data;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.PluginContext;
import java.util.List;

/** The factories of the built-in formats (defaults in {@code reference.conf} under {@code peft4j.datasets.<name>}). */
final class BuiltInReaders {
    private BuiltInReaders() {}

    static List<DatasetReaderFactory<?>> all() {
        return List.of(new Tsv(), new Csv(), new Jsonl(), new Conll(), new WordNet(), new Text(), new PromptCompletion(), new Squad());
    }

    /** WordNet config: the shared reader keys plus {@code include-words}. */
    record WordNetConfig(ReaderConfig reader, boolean includeWords) {}

    /** Plain-text config: {@code block-size} (0: one document per line). */
    record TextConfig(int blockSize) {}

    /** Prompt/completion config: the two JSON field names. */
    record PromptCompletionConfig(ReaderConfig reader, String prompt, String completion) {}

    static final class Tsv implements DatasetReaderFactory<ReaderConfig> {
        @Override
        public String name() {
            return "tsv";
        }

        @Override
        public String description() {
            return "tab-separated with a header row, no quoting (GLUE)";
        }

        @Override
        public ReaderConfig parseConfig(Config section) {
            return ReaderConfig.parse(section, "", true, false, false);
        }

        @Override
        public DatasetReader create(ReaderConfig config, PluginContext context) {
            return new TableReader(config, false);
        }
    }

    static final class Csv implements DatasetReaderFactory<ReaderConfig> {
        @Override
        public String name() {
            return "csv";
        }

        @Override
        public String description() {
            return "comma-separated with a header row, RFC 4180 quoting";
        }

        @Override
        public ReaderConfig parseConfig(Config section) {
            return ReaderConfig.parse(section, "", true, false, false);
        }

        @Override
        public DatasetReader create(ReaderConfig config, PluginContext context) {
            return new TableReader(config, true);
        }
    }

    static final class Jsonl implements DatasetReaderFactory<ReaderConfig> {
        @Override
        public String name() {
            return "jsonl";
        }

        @Override
        public String description() {
            return "one JSON object per line";
        }

        @Override
        public ReaderConfig parseConfig(Config section) {
            return ReaderConfig.parse(section, "", false, false, true);
        }

        @Override
        public DatasetReader create(ReaderConfig config, PluginContext context) {
            return new JsonlReader(config);
        }
    }

    static final class Conll implements DatasetReaderFactory<ReaderConfig> {
        @Override
        public String name() {
            return "conll";
        }

        @Override
        public String description() {
            return "CoNLL columns (one word per line, blank line between sentences)";
        }

        @Override
        public ReaderConfig parseConfig(Config section) {
            return ReaderConfig.parse(section, "", false, true, false);
        }

        @Override
        public DatasetReader create(ReaderConfig config, PluginContext context) {
            return new ConllReader(config);
        }
    }

    static final class WordNet implements DatasetReaderFactory<WordNetConfig> {
        @Override
        public String name() {
            return "wordnet";
        }

        @Override
        public String description() {
            return "WordNet data.noun: gloss -> lexicographer category (26 classes)";
        }

        @Override
        public WordNetConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "").allow("name");
            ReaderConfig.refuseMovedKeys(r, section);
            boolean include = r.bool("include-words");
            r.finish();
            return new WordNetConfig(new ReaderConfig("", "", "", "", "", 0, -1), include);
        }

        @Override
        public DatasetReader create(WordNetConfig config, PluginContext context) {
            return new WordNetReader(config.reader(), config.includeWords());
        }
    }

    static final class Text implements DatasetReaderFactory<TextConfig> {
        @Override
        public String name() {
            return "text";
        }

        @Override
        public String description() {
            return "plain text for causal LMs: one document per line, or blocks of block-size tokens";
        }

        @Override
        public TextConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "").allow("name");
            ReaderConfig.refuseMovedKeys(r, section);
            int blockSize = r.intValue("block-size", 0, 1 << 20);
            r.finish();
            return new TextConfig(blockSize);
        }

        @Override
        public DatasetReader create(TextConfig config, PluginContext context) {
            return new TextReader(new ReaderConfig("", "", "", "", "", 0, -1), config.blockSize(),
                    context == null ? null : context.tokenizer().orElse(null));
        }
    }

    static final class PromptCompletion implements DatasetReaderFactory<PromptCompletionConfig> {
        @Override
        public String name() {
            return "prompt-completion";
        }

        @Override
        public String description() {
            return "JSONL prompt/completion pairs for causal LMs; only completion tokens are trained";
        }

        @Override
        public PromptCompletionConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "").allow("name");
            ReaderConfig.refuseMovedKeys(r, section);
            String prompt = r.string("prompt");
            String completion = r.string("completion");
            if (prompt.isEmpty()) {
                r.problem("prompt", "is empty, expected the name of the prompt field");
            }
            if (completion.isEmpty()) {
                r.problem("completion", "is empty, expected the name of the completion field");
            }
            r.finish();
            return new PromptCompletionConfig(new ReaderConfig("", "", "", "", "", 0, -1), prompt, completion);
        }

        @Override
        public DatasetReader create(PromptCompletionConfig config, PluginContext context) {
            return new PromptCompletionReader(config.reader(), config.prompt(), config.completion());
        }
    }

    /** {@code squad}: SQuAD v1.1 / v2.0 JSON for extractive QA; no keys of its own. */
    static final class Squad implements DatasetReaderFactory<ReaderConfig> {
        @Override
        public String name() {
            return "squad";
        }

        @Override
        public String description() {
            return "SQuAD v1.1/v2.0 JSON (question, context, answers), for question-answering";
        }

        @Override
        public ReaderConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "").allow("name");
            r.finish();
            return new ReaderConfig("", "", "", "", "", 0, -1);
        }

        @Override
        public DatasetReader create(ReaderConfig config, PluginContext context) {
            return new SquadReader(config);
        }
    }
}
