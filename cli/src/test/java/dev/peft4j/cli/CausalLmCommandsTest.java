package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new user's causal-LM session: train stories260K with LoRA on a text file, eval the run, generate with its adapter. */
class CausalLmCommandsTest {
    @TempDir
    Path dir;

    @Test
    void trainEvalAndGenerateWithTheRunsAdapter() throws Exception {
        Path stories = GenerateCommandTest.stories();
        List<String> reviews = new ArrayList<>();
        for (int i = 0; i < 96; i++) {
            reviews.add("the film is " + (i % 2 == 0 ? "a charming and funny comedy ." : "a dull and tedious mess ."));
        }
        Path text = dir.resolve("reviews.txt");
        Files.write(text, reviews, StandardCharsets.UTF_8);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + stories + "\", max-length = 64 }\n"
                + "method { name = lora, r = 4, alpha = 8, target-modules = [q_proj, v_proj] }\n"
                + "head { name = causal-lm }\n"
                + "data { train { path = \"" + text + "\", format = text }, eval { path = \"" + text + "\", format = text } }\n"
                + "train { epochs = 1, batch-size = 16, learning-rate = 1e-2, eval-at-start = true, checkpoints = false }\n");
        Path run = dir.resolve("run");
        TrainEvalPredictCommandTest.Result trained = TrainEvalPredictCommandTest.run("train", conf.toString(), "run.dir=\"" + run + "\"");
        assertThat(trained.code()).as(trained.err()).isZero();
        assertThat(trained.out()).contains("perplexity=");
        JsonObject eval = JsonParser.parseString(Files.readString(run.resolve("eval.json"))).getAsJsonObject().getAsJsonObject("metrics");
        double after = eval.get("perplexity").getAsDouble();

        TrainEvalPredictCommandTest.Result evaluated = TrainEvalPredictCommandTest.run("eval", run.toString());
        assertThat(evaluated.code()).as(evaluated.err()).isZero();
        assertThat(JsonParser.parseString(evaluated.out().strip()).getAsJsonObject().get("perplexity").getAsDouble())
                .isCloseTo(after, org.assertj.core.data.Offset.offset(1e-3 * after));

        TrainEvalPredictCommandTest.Result predicted = TrainEvalPredictCommandTest.run("predict", run.toString(), "--input", text.toString());
        assertThat(predicted.code()).isEqualTo(1);
        assertThat(predicted.err()).contains("causal-lm run").contains("peft4j generate").contains("--adapter");

        GenerateCommandTest.Run generated = GenerateCommandTest.run(stories.toString(), "--prompt", "the film is", "--max-new-tokens", "8",
                "--adapter", run.resolve("adapter").toString());
        assertThat(generated.exit()).as(generated.err()).isZero();
        assertThat(generated.out().strip()).isNotEmpty();
    }
}
