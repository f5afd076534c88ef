package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.tracking.FakeMlflowServer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer calls the run listeners: a run with {@code tracking.mlflow} against an in-process MLflow, and against a dead URL. */
class TrackingTest {
    @TempDir
    Path dir;

    private String experiment(String tracking) throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("sentence\tlabel");
        TinySetup.examples(64, 1).forEach(e -> lines.add(e.fields().get("text") + "\t" + e.fields().get("label")));
        Path train = dir.resolve("train.tsv");
        Files.write(train, lines, StandardCharsets.UTF_8);
        return "model.source = tiny\n"
                + "method { name = lora, r = 4, target-modules = all-linear }\n"
                + "head { name = sequence-classification, pooling = mean }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, holdout = 0.25 }\n"
                + "train { epochs = 2, batch-size = 8, log-every = 2, eval-every = 3 }\n"
                + "run { name = tracked, dir = \"" + dir.resolve("run") + "\" }\n"
                + tracking;
    }

    static Peft4j host() {
        return Peft4j.builder().override(b -> b.bind(ModelLoader.class).toInstance(new TrainingRunnerTest.TinyLoader())).build();
    }

    @Test
    void aTrackedRunSendsItsParamsEveryLoggedStepItsEvaluationsAndItsFiles() throws Exception {
        try (FakeMlflowServer server = new FakeMlflowServer(); Peft4j peft4j = host()) {
            RunResult result = peft4j.experiment(ConfigFactory.parseString(experiment(
                    "tracking { mlflow { url = \"" + server.url() + "\", experiment = toy } }"))).run();
            List<JsonObject> log = MetricsLog.read(result.runDirectory().resolve("metrics.jsonl"));
            Map<String, List<Long>> steps = new HashMap<>();
            Map<String, String> params = new HashMap<>();
            for (FakeMlflowServer.Request r : server.to("/api/2.0/mlflow/runs/log-batch")) {
                for (JsonElement m : r.json().getAsJsonArray("metrics")) {
                    steps.computeIfAbsent(m.getAsJsonObject().get("key").getAsString(), k -> new ArrayList<>()).add(m.getAsJsonObject().get("step").getAsLong());
                }
                for (JsonElement p : r.json().getAsJsonArray("params")) {
                    params.put(p.getAsJsonObject().get("key").getAsString(), p.getAsJsonObject().get("value").getAsString());
                }
            }
            // every train and eval line of metrics.jsonl reached MLflow at its step
            assertThat(steps.get("train_loss")).isEqualTo(log.stream().filter(o -> o.get("type").getAsString().equals("train"))
                    .map(o -> o.get("step").getAsLong()).toList()).isNotEmpty();
            assertThat(steps.get("eval_accuracy")).isEqualTo(log.stream().filter(o -> o.get("type").getAsString().equals("eval"))
                    .map(o -> o.get("step").getAsLong()).toList()).hasSizeGreaterThan(1);
            assertThat(steps).containsKey("accuracy").containsKey("trainable_parameters");
            // the resolved config, flattened, defaults included
            assertThat(params).containsEntry("method.name", "lora").containsEntry("method.r", "4").containsEntry("train.log-every", "2")
                    .containsEntry("tracking.mlflow.experiment", "toy").containsEntry("method.target-modules", "all-linear");
            assertThat(server.requests.stream().filter(r -> r.method().equals("PUT")).map(r -> r.path().replaceAll(".*/artifacts/", "")))
                    .contains("report.html", "eval.json", "resolved.conf", "metrics.jsonl", "labels.json", "adapter/adapter_model.safetensors",
                            "adapter/adapter_config.json");
            assertThat(server.requests.get(server.requests.size() - 1).json().get("status").getAsString()).isEqualTo("FINISHED");
        }
    }

    @Test
    void aDeadServerDoesNotFailTheRunAndAFailedRunIsRecordedAsFailed() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (Peft4j peft4j = host()) {
            long t0 = System.nanoTime();
            RunResult result = peft4j.experiment(ConfigFactory.parseString(experiment(
                    "tracking { mlflow { url = \"http://127.0.0.1:" + port + "\" } }"))).run();
            assertThat(result.metrics()).containsKey("accuracy");
            System.err.println("run with a dead MLflow URL: " + (System.nanoTime() - t0) / 1e9 + " s");
        }
        try (FakeMlflowServer server = new FakeMlflowServer(); Peft4j peft4j = host()) {
            // valid, but the training file is missing: the run starts, fails while reading its data, and says so to MLflow
            String bad = experiment("tracking { mlflow { url = \"" + server.url() + "\" } }").replace("train.tsv", "missing.tsv")
                    .replace(dir.resolve("run").toString(), dir.resolve("failed").toString());
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(bad)).run()).hasMessageContaining("missing.tsv");
            assertThat(server.to("/api/2.0/mlflow/runs/update")).singleElement()
                    .satisfies(r -> assertThat(r.json().get("status").getAsString()).isEqualTo("FAILED"));
        }
    }

    @Test
    void trackingSectionsAreValidatedStrictly() throws Exception {
        try (Peft4j peft4j = host()) {
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment("tracking { mlflow { url = \"localhost:5000\" } }")))
                    .validate()).isInstanceOf(InvalidConfigException.class).hasMessageContaining("tracking.mlflow.url")
                    .hasMessageContaining("localhost:5000");
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment("tracking { mlflw { url = \"http://h\" } }")))
                    .validate()).isInstanceOf(InvalidConfigException.class).hasMessageContaining("mlflw").hasMessageContaining("mlflow");
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment("tracking { mlflow = yes }"))).validate())
                    .isInstanceOf(InvalidConfigException.class).hasMessageContaining("tracking.mlflow");
            // resolved.conf carries the listener with its defaults and validates again
            var validated = peft4j.experiment(ConfigFactory.parseString(experiment("tracking { mlflow { url = \"http://h:1\" } }"))).validate();
            assertThat(validated.listeners()).singleElement().satisfies(c -> assertThat(c.name()).isEqualTo("mlflow"));
            assertThat(validated.config().getString("tracking.mlflow.experiment")).isEqualTo("peft4j");
            assertThat(peft4j.experiment(ConfigFactory.parseString(validated.render())).validate().listeners()).hasSize(1);
        }
    }
}
