package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against a real MLflow tracking server (.ci/run starts one from PyPI's mlflow and passes {@code -Dpeft4j.mlflow.url}): a
 * tiny tracked run, then the server is asked through its own REST API for the run, its params and its metric history.
 * Skipped, saying why, without the property or when the server could not be installed.
 */
class MlflowServerTest {
    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void aTrackedRunIsOnTheServerWithItsParamsAndMetricHistory() throws Exception {
        String url = System.getProperty("peft4j.mlflow.url", "");
        Assumptions.assumeTrue(!url.isBlank(), "no -Dpeft4j.mlflow.url: no MLflow server to test against (.ci/run starts one)");
        awaitServer(url, System.getProperty("peft4j.mlflow.log", ""));

        String experimentName = "peft4j-it-" + System.nanoTime();
        List<String> lines = new ArrayList<>();
        lines.add("sentence\tlabel");
        TinySetup.examples(48, 3).forEach(e -> lines.add(e.fields().get("text") + "\t" + e.fields().get("label")));
        Path train = dir.resolve("train.tsv");
        Files.write(train, lines, StandardCharsets.UTF_8);
        String conf = "model.source = tiny\n"
                + "method { name = lora, r = 4, target-modules = all-linear }\n"
                + "head { name = sequence-classification, pooling = mean }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, holdout = 0.25 }\n"
                + "train { epochs = 2, batch-size = 8, log-every = 1, eval-every = 2 }\n"
                + "run { name = it-run, dir = \"" + dir.resolve("run") + "\" }\n"
                + "tracking { mlflow { url = \"" + url + "\", experiment = \"" + experimentName + "\", flush-timeout-s = 60 } }\n";
        RunResult result;
        try (Peft4j peft4j = TrackingTest.host()) {
            result = peft4j.experiment(ConfigFactory.parseString(conf)).run();
        }
        List<Long> trainSteps = MetricsLog.read(result.runDirectory().resolve("metrics.jsonl")).stream()
                .filter(o -> o.get("type").getAsString().equals("train")).map(o -> o.get("step").getAsLong()).toList();

        String experimentId = get(url, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + enc(experimentName))
                .getAsJsonObject("experiment").get("experiment_id").getAsString();
        JsonObject search = post(url, "/api/2.0/mlflow/runs/search", "{\"experiment_ids\": [\"" + experimentId + "\"]}");
        JsonArray runs = search.getAsJsonArray("runs");
        assertThat(runs).hasSize(1);
        JsonObject run = runs.get(0).getAsJsonObject();
        JsonObject info = run.getAsJsonObject("info");
        assertThat(info.get("run_name").getAsString()).isEqualTo("it-run");
        assertThat(info.get("status").getAsString()).isEqualTo("FINISHED");
        String runId = info.get("run_id").getAsString();

        Map<String, String> params = new HashMap<>();
        for (JsonElement p : run.getAsJsonObject("data").getAsJsonArray("params")) {
            params.put(p.getAsJsonObject().get("key").getAsString(), p.getAsJsonObject().get("value").getAsString());
        }
        assertThat(params).containsEntry("method.name", "lora").containsEntry("method.r", "4").containsEntry("train.epochs", "2")
                .containsEntry("head.name", "sequence-classification");
        Map<String, Double> latest = new HashMap<>();
        for (JsonElement m : run.getAsJsonObject("data").getAsJsonArray("metrics")) {
            latest.put(m.getAsJsonObject().get("key").getAsString(), m.getAsJsonObject().get("value").getAsDouble());
        }
        assertThat(latest.get("accuracy")).isEqualTo(result.metrics().get("accuracy"));

        JsonArray history = get(url, "/api/2.0/mlflow/metrics/get-history?run_id=" + runId + "&metric_key=train_loss").getAsJsonArray("metrics");
        List<Long> steps = new ArrayList<>();
        history.forEach(m -> steps.add(m.getAsJsonObject().get("step").getAsLong()));
        assertThat(steps).containsExactlyInAnyOrderElementsOf(trainSteps).hasSizeGreaterThan(5);

        JsonArray files = get(url, "/api/2.0/mlflow/artifacts/list?run_id=" + runId).getAsJsonArray("files");
        List<String> names = new ArrayList<>();
        files.forEach(f -> names.add(f.getAsJsonObject().get("path").getAsString()));
        assertThat(names).contains("report.html", "eval.json", "adapter");
    }

    private void awaitServer(String url, String log) throws Exception {
        long deadline = System.nanoTime() + Long.getLong("peft4j.mlflow.wait-s", 600) * 1_000_000_000L;
        while (true) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/health")).timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // starting
            }
            String text = log.isBlank() || !Files.exists(Path.of(log)) ? "" : Files.readString(Path.of(log));
            int unavailable = text.indexOf("peft4j-mlflow: unavailable:");
            Assumptions.assumeTrue(unavailable < 0, () -> "MLflow server not started: " + text.substring(text.indexOf("unavailable:")).strip());
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the MLflow server at " + url + " did not answer /health; its log ends:\n"
                        + text.substring(Math.max(0, text.length() - 2000)));
            }
            Thread.sleep(1000);
        }
    }

    private JsonObject get(String base, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET " + path + ": " + r.body()).isEqualTo(200);
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private JsonObject post(String base, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("POST " + path + ": " + r.body()).isEqualTo(200);
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
