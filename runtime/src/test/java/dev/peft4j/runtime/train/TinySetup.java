package dev.peft4j.runtime.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import dev.peft4j.heads.HeadsPlugin;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.runtime.data.FakeTokenizer;
import dev.peft4j.runtime.data.LabelVocabulary;
import dev.peft4j.runtime.data.TaskKind;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** A tiny random BERT with a head and a toy sentiment task a few steps can learn. */
final class TinySetup {
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(64);
    static final List<String> GOOD = List.of("good", "great", "fine", "nice");
    static final List<String> BAD = List.of("bad", "awful", "poor", "sad");
    static final List<String> FILLER = List.of("the", "a", "movie", "was", "plot", "it", "very", "and");

    private TinySetup() {}

    static List<Example> examples(int n, long seed) {
        Random r = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            List<String> words = new ArrayList<>();
            int len = 2 + r.nextInt(6);
            for (int w = 0; w < len; w++) {
                words.add(FILLER.get(r.nextInt(FILLER.size())));
            }
            words.add(r.nextInt(words.size() + 1), (label == 1 ? GOOD : BAD).get(r.nextInt(4)));
            out.add(new Example(Map.of("text", String.join(" ", words), "label", String.valueOf(label)), "toy:" + (i + 1)));
        }
        return out;
    }

    static TokenizedDataset dataset(int n, long seed) {
        return TokenizedDataset.encode(examples(n, seed), TOKENIZER, 32, TaskKind.CLASSIFICATION, LabelVocabulary.of(List.of("0", "1")), true);
    }

    static BertModel backbone(NDManager parent) {
        return BertModel.random(BertConfig.of(64, 16, 1, 2, 32, 64), parent, 7, false);
    }

    @SuppressWarnings("unchecked")
    static <C> TaskHead head(BertModel backbone, String name, String overrides) {
        TaskHeadFactory<C> f = (TaskHeadFactory<C>) new HeadsPlugin().taskHeads().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        Config section = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.heads." + name));
        return f.create(backbone, f.parseConfig(section), null);
    }

    static TaskModel model(NDManager parent) {
        BertModel backbone = backbone(parent);
        return new TaskModel(backbone, head(backbone, "sequence-classification", "num-labels = 2, pooling = mean"));
    }

    static TrainConfig config(String overrides) {
        return TrainConfig.from(ConfigFactory.parseString(overrides), "train");
    }

    static NDManager manager() {
        return Engine.getInstance().newBaseManager();
    }
}
