package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.data.Fields;
import dev.peft4j.runtime.data.TokenizedDataset;
import dev.peft4j.runtime.plugin.PluginContexts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code question-answering} with LoRA through the host on a tiny random BERT: a toy SQuAD file whose answer is the one
 * colour word in a context long enough to need two windows; training must lift exact match far above what an untrained
 * head gets, and eval and predict on the restored run give the same answers.
 */
class QuestionAnsweringTrainingTest {
    @TempDir
    Path dir;

    // one word piece each (the test tokenizer cuts words into 4-character pieces)
    static final List<String> COLOURS = List.of("red", "blue", "pink", "gold");
    static final List<String> FILLER = List.of("the", "car", "was", "near", "house", "and", "it", "old");

    static String squad(int n, long seed) {
        Random r = new Random(seed);
        JsonArray qas = new JsonArray();
        JsonArray paragraphs = new JsonArray();
        for (int i = 0; i < n; i++) {
            List<String> words = new ArrayList<>();
            int len = 6 + r.nextInt(10);
            for (int w = 0; w < len; w++) {
                words.add(FILLER.get(r.nextInt(FILLER.size())));
            }
            String colour = COLOURS.get(r.nextInt(COLOURS.size()));
            words.add(r.nextInt(words.size() + 1), colour);
            String context = String.join(" ", words);
            int start = (" " + context + " ").indexOf(" " + colour + " ");
            JsonObject qa = new JsonObject();
            qa.addProperty("id", "q" + i);
            qa.addProperty("question", "what colour");
            JsonArray answers = new JsonArray();
            JsonObject a = new JsonObject();
            a.addProperty("text", colour);
            a.addProperty("answer_start", start);
            answers.add(a);
            qa.add("answers", answers);
            JsonArray one = new JsonArray();
            one.add(qa);
            JsonObject p = new JsonObject();
            p.addProperty("context", context);
            p.add("qas", one);
            paragraphs.add(p);
        }
        JsonObject article = new JsonObject();
        article.addProperty("title", "toy");
        article.add("paragraphs", paragraphs);
        JsonArray data = new JsonArray();
        data.add(article);
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.1");
        root.add("data", data);
        return root.toString();
    }

    @Test
    void trainsWithLoraEvaluatesAndPredictsAnswersWithCharacterOffsets() throws Exception {
        Path train = dir.resolve("train.json");
        Path dev = dir.resolve("dev.json");
        Files.writeString(train, squad(96, 1), StandardCharsets.UTF_8);
        Files.writeString(dev, squad(40, 2), StandardCharsets.UTF_8);
        // max-length 16 with doc-stride 4: 10 context pieces per window, so the longer contexts need two
        String conf = "model { source = tiny, max-length = 16 }\n"
                + "method { name = lora, r = 8, alpha = 16, target-modules = all-linear }\n"
                + "head { name = question-answering, doc-stride = 4, max-answer-length = 5 }\n"
                + "data { train { path = \"" + train + "\", format = squad }, eval { path = \"" + dev + "\", format = squad } }\n"
                + "train { epochs = 6, batch-size = 16, learning-rate = 5e-2, warmup-ratio = 0.1, eval-at-start = true }\n"
                + "run { name = qa, dir = \"" + dir.resolve("run") + "\" }\n";
        try (Peft4j peft4j = Peft4j.builder().override(b -> b.bind(ModelLoader.class).toInstance(new TrainingRunnerTest.TinyLoader())).build()) {
            RunResult result = peft4j.experiment(ConfigFactory.parseString(conf)).run();
            double before = result.metrics().get("initial_exact_match");
            double after = result.metrics().get("exact_match");
            System.err.println("toy QA exact match " + before + " -> " + after);
            assertThat(before).isLessThan(10.0);
            assertThat(after).isGreaterThan(60.0);
            assertThat(result.metrics().get("f1")).isGreaterThanOrEqualTo(after);
            Path run = result.runDirectory();
            TensorFiles files = new SafetensorsTensorFiles();
            ValidatedExperiment again = peft4j.experiment(run.resolve("resolved.conf")).validate();
            try (TaskSetup setup = TrainingRunner.restore(again, new TrainingRunnerTest.TinyLoader(), new PluginContexts(files), files, run, true)) {
                assertThat(setup.eval().orElseThrow().size()).isGreaterThan(setup.eval().orElseThrow().exampleCount());
                Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().orElseThrow(), 64, setup.padId());
                assertThat(e.metrics().get("exact_match")).isEqualTo(after);
                assertThat(e.predictions()).hasSize(40);
                // predict: unlabelled question + context, the answer and its offsets in the context
                String context = "the car was near the house and it was old and pink the car was old";
                TokenizedDataset data = setup.encode(List.of(new Example(Map.of(Fields.QUESTION, "what colour", Fields.CONTEXT, context), "stdin:1")), false);
                SpanDecoder.Answer a = (SpanDecoder.Answer) Evaluator.evaluate(setup.taskModel(), data, 8, setup.padId()).predictions().get(0);
                assertThat(a.text()).isEqualTo("pink");
                assertThat(a.start()).isEqualTo(context.indexOf("pink"));
                assertThat(a.end()).isEqualTo(context.indexOf("pink") + 4);
            }
        }
    }
}
