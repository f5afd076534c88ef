package dev.peft4j.runtime.tracking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.RunListener;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MLflow listener's requests against an in-process server that answers as MLflow's REST API does. */
class MlflowListenerTest {
    @TempDir
    Path dir;

    static MlflowConfig config(String overrides) {
        return MlflowConfig.from(ConfigFactory.parseString(overrides)
                .withFallback(ConfigFactory.parseResources("reference.conf").resolve().getConfig("peft4j.tracking.mlflow")));
    }

    static void runOnce(RunListener l, Path dir) throws Exception {
        Files.writeString(dir.resolve("report.html"), "<html>report</html>", StandardCharsets.UTF_8);
        l.runStarted(new RunListener.RunInfo("sst2-lora", dir, "lora", "sequence-classification"));
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < 150; i++) { // more than one log-batch's 100
            params.put("p." + i, String.valueOf(i));
        }
        params.put("method.name", "lora");
        l.parameters(params);
        l.metrics("train", 10, Map.of("loss", 0.69, "learning_rate", 5e-4));
        l.metrics("train", 20, Map.of("loss", 0.41, "grad_norm", Double.NaN));
        l.metrics("eval", 20, Map.of("accuracy", 0.8));
        l.finalMetrics(Map.of("accuracy", 0.8, "trainable_parameters", 74498.0));
        l.artifact(dir.resolve("report.html"), "report.html");
        l.runFinished(RunListener.Status.FINISHED);
    }

    @Test
    void sendsMlflowsDocumentedRequestsInOrder() throws Exception {
        try (FakeMlflowServer server = new FakeMlflowServer()) {
            MlflowListener l = new MlflowListener(config("url = \"" + server.url() + "/\", experiment = \"peft4j tests\""));
            runOnce(l, dir);
            l.close();
            assertThat(l.dropped()).isZero();
            assertThat(server.requests).extracting(FakeMlflowServer.Request::path).containsExactly(
                    "/api/2.0/mlflow/experiments/get-by-name", "/api/2.0/mlflow/experiments/create", "/api/2.0/mlflow/runs/create",
                    "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/log-batch",
                    "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/log-batch",
                    "/api/2.0/mlflow-artifacts/artifacts/7/run-1/artifacts/report.html", "/api/2.0/mlflow/runs/update");
            assertThat(server.requests.get(0).method()).isEqualTo("GET");
            assertThat(server.requests.get(0).query()).isEqualTo("experiment_name=peft4j+tests");
            assertThat(server.requests.get(1).json().get("name").getAsString()).isEqualTo("peft4j tests");
            JsonObject create = server.requests.get(2).json();
            assertThat(create.get("experiment_id").getAsString()).isEqualTo("7");
            assertThat(create.get("run_name").getAsString()).isEqualTo("sst2-lora");
            assertThat(create.get("start_time").getAsLong()).isPositive();
            assertThat(tags(create.getAsJsonArray("tags"))).containsEntry("mlflow.runName", "sst2-lora").containsEntry("peft4j.method", "lora")
                    .containsEntry("peft4j.head", "sequence-classification");

            List<FakeMlflowServer.Request> batches = server.to("/api/2.0/mlflow/runs/log-batch");
            assertThat(batches.get(0).json().get("run_id").getAsString()).isEqualTo("run-1");
            assertThat(batches.get(0).json().getAsJsonArray("params")).hasSize(100);
            assertThat(batches.get(1).json().getAsJsonArray("params")).hasSize(51);
            JsonObject first = batches.get(2).json().getAsJsonArray("metrics").get(0).getAsJsonObject();
            assertThat(first.keySet()).containsExactlyInAnyOrder("key", "value", "timestamp", "step");
            assertThat(metrics(batches.get(2))).containsEntry("train_loss@10", 0.69).containsEntry("train_learning_rate@10", 5e-4);
            // NaN cannot travel in JSON: left out, the rest of the window is sent
            assertThat(metrics(batches.get(3))).containsOnlyKeys("train_loss@20");
            assertThat(metrics(batches.get(4))).containsOnlyKeys("eval_accuracy@20");
            // final metrics under their own names, at the last step seen
            assertThat(metrics(batches.get(5))).containsOnlyKeys("accuracy@20", "trainable_parameters@20");

            FakeMlflowServer.Request upload = server.requests.get(9);
            assertThat(upload.method()).isEqualTo("PUT");
            assertThat(new String(upload.bytes(), StandardCharsets.UTF_8)).isEqualTo("<html>report</html>");
            JsonObject update = server.requests.get(10).json();
            assertThat(update.get("run_id").getAsString()).isEqualTo("run-1");
            assertThat(update.get("status").getAsString()).isEqualTo("FINISHED");
            assertThat(update.get("end_time").getAsLong()).isGreaterThanOrEqualTo(create.get("start_time").getAsLong());
        }
    }

    @Test
    void anExistingExperimentIsReusedAndArtifactsAreSkippedWhenTheServerDoesNotProxyThem() throws Exception {
        try (FakeMlflowServer server = new FakeMlflowServer()) {
            server.experimentExists = true;
            server.artifactUri = "/tmp/mlruns/7/run-1/artifacts"; // a server started with --no-serve-artifacts
            MlflowListener l = new MlflowListener(config("url = \"" + server.url() + "\", run-name = custom"));
            runOnce(l, dir);
            l.close();
            assertThat(server.to("/api/2.0/mlflow/experiments/create")).isEmpty();
            assertThat(server.to("/api/2.0/mlflow/runs/create").get(0).json().get("run_name").getAsString()).isEqualTo("custom");
            assertThat(server.requests).noneMatch(r -> r.method().equals("PUT"));
            assertThat(server.to("/api/2.0/mlflow/runs/update")).hasSize(1);
        }
    }

    @Test
    void aServerThatIsDownForAWhileGetsEverythingLaterInOrder() throws Exception {
        try (FakeMlflowServer server = new FakeMlflowServer()) {
            server.failNext.set(3);
            MlflowListener l = new MlflowListener(config("url = \"" + server.url() + "\""), Duration.ofMillis(20));
            runOnce(l, dir);
            l.close();
            assertThat(server.failNext.get()).isZero();
            assertThat(l.dropped()).isZero();
            assertThat(server.requests).hasSize(11);
            assertThat(server.requests.get(10).json().get("status").getAsString()).isEqualTo("FINISHED");
        }
    }

    @Test
    void aDeadUrlNeverSlowsTheRunAndCountsWhatItDrops() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: connections are refused
        }
        long t0 = System.nanoTime();
        MlflowListener l = new MlflowListener(config("url = \"http://127.0.0.1:" + port + "\""));
        runOnce(l, dir);
        double eventsSeconds = (System.nanoTime() - t0) / 1e9;
        l.close();
        double totalSeconds = (System.nanoTime() - t0) / 1e9;
        assertThat(eventsSeconds).isLessThan(0.5); // creating the listener, its HTTP client and thread included
        assertThat(totalSeconds).isLessThan(1.0);
        assertThat(l.sent()).isZero();
        assertThat(l.dropped()).isEqualTo(9); // create, 2 params, 4 metrics, 1 artifact, update: all of them
    }

    @Test
    void aFullBufferDropsNewerRequestsInsteadOfGrowing() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        MlflowListener l = new MlflowListener(config("url = \"http://127.0.0.1:" + port + "\", buffer-size = 3"), Duration.ofSeconds(30));
        runOnce(l, dir);
        l.close();
        assertThat(l.dropped()).isEqualTo(9);
        assertThat(l.sent()).isZero();
    }

    @Test
    void malformedUrlsAndBadValuesAreErrorsNamingTheKey() {
        for (String bad : List.of("127.0.0.1:5000", "ftp://host", "http://", "http://host:5000/?x=1", "http://ho st", "")) {
            assertThatThrownBy(() -> config("url = \"" + bad + "\"")).as(bad).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("url");
        }
        assertThatThrownBy(() -> config("url = \"http://h\", experiment = \"\", buffer-size = 0, request-timeout-s = 0, colour = red"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("experiment").hasMessageContaining("buffer-size")
                .hasMessageContaining("request-timeout-s").hasMessageContaining("colour");
        MlflowConfig ok = config("url = \"https://mlflow.example.com:8443/prefix/\"");
        assertThat(ok.url().toString()).isEqualTo("https://mlflow.example.com:8443/prefix");
        assertThat(ok.experiment()).isEqualTo("peft4j");
        assertThat(ok.runName()).isEmpty();
        assertThat(ok.flushTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(ok.bufferSize()).isEqualTo(10000);
        assertThat(ok.artifacts()).isTrue();
    }

    private static Map<String, String> tags(JsonArray tags) {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonElement t : tags) {
            out.put(t.getAsJsonObject().get("key").getAsString(), t.getAsJsonObject().get("value").getAsString());
        }
        return out;
    }

    /** {@code key@step -> value}. */
    private static Map<String, Double> metrics(FakeMlflowServer.Request batch) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (JsonElement m : batch.json().getAsJsonArray("metrics")) {
            JsonObject o = m.getAsJsonObject();
            out.put(o.get("key").getAsString() + "@" + o.get("step").getAsLong(), o.get("value").getAsDouble());
        }
        return out;
    }
}
