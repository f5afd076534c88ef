package dev.peft4j.runtime.tracking;

import static java.util.Objects.requireNonNull;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The few calls of MLflow's REST API that a run needs, over {@code java.net.http}: experiments/get-by-name and
 * experiments/create, runs/create, runs/log-batch, runs/update ({@code /api/2.0/mlflow/...}), and artifact upload through the
 * server's artifact proxy ({@code PUT /api/2.0/mlflow-artifacts/artifacts/<path>}, served by {@code mlflow server} with
 * {@code --serve-artifacts}, its default). Synchronous: {@link MlflowListener} calls it from its own thread.
 */
final class MlflowClient {
    /** An answer the server gave: a status and its {@code error_code}. 4xx answers will not improve by retrying. */
    static final class MlflowException extends IOException {
        final int status;
        final String errorCode;

        MlflowException(int status, String errorCode, String message) {
            super(message);
            this.status = status;
            this.errorCode = errorCode;
        }

        boolean permanent() {
            return status >= 400 && status < 500 && status != 408 && status != 429;
        }
    }

    /** A created run: its id and where its artifacts go. */
    record Run(String id, String artifactUri) {}

    static final String ARTIFACT_SCHEME = "mlflow-artifacts:";

    private final URI base;
    private final Duration timeout;
    private final HttpClient http;
    private final Gson gson = new Gson();

    MlflowClient(URI base, Duration timeout) {
        this.base = requireNonNull(base, "base is null");
        this.timeout = requireNonNull(timeout, "timeout is null");
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** The experiment's id, creating the experiment when it does not exist. */
    String experimentId(String name) throws IOException, InterruptedException {
        try {
            JsonObject o = send("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + URLEncoder.encode(name, StandardCharsets.UTF_8), null);
            return o.getAsJsonObject("experiment").get("experiment_id").getAsString();
        } catch (MlflowException e) {
            if (!"RESOURCE_DOES_NOT_EXIST".equals(e.errorCode) && e.status != 404) {
                throw e;
            }
        }
        try {
            return send("POST", "/api/2.0/mlflow/experiments/create", Map.of("name", name)).get("experiment_id").getAsString();
        } catch (MlflowException e) {
            if ("RESOURCE_ALREADY_EXISTS".equals(e.errorCode)) { // created meanwhile by another run
                return experimentId(name);
            }
            throw e;
        }
    }

    Run createRun(String experimentId, String runName, long startMillis, List<Map<String, String>> tags) throws IOException, InterruptedException {
        JsonObject info = send("POST", "/api/2.0/mlflow/runs/create", Map.of("experiment_id", experimentId, "run_name", runName,
                "start_time", startMillis, "tags", tags)).getAsJsonObject("run").getAsJsonObject("info");
        JsonElement uri = info.get("artifact_uri");
        return new Run(info.get("run_id").getAsString(), uri == null || uri.isJsonNull() ? "" : uri.getAsString());
    }

    /**
     * @param metrics each {@code {key, value, timestamp, step}}
     * @param params each {@code {key, value}}
     */
    void logBatch(String runId, List<Map<String, Object>> metrics, List<Map<String, String>> params) throws IOException, InterruptedException {
        send("POST", "/api/2.0/mlflow/runs/log-batch", Map.of("run_id", runId, "metrics", metrics, "params", params, "tags", List.of()));
    }

    void updateRun(String runId, String status, long endMillis) throws IOException, InterruptedException {
        send("POST", "/api/2.0/mlflow/runs/update", Map.of("run_id", runId, "status", status, "end_time", endMillis));
    }

    /** Uploads {@code file} to {@code artifactPath} under the run's {@code mlflow-artifacts:/...} root. */
    void uploadArtifact(Run run, Path file, String artifactPath) throws IOException, InterruptedException {
        String root = run.artifactUri().substring(ARTIFACT_SCHEME.length()).replaceAll("^/+", "");
        StringBuilder path = new StringBuilder("/api/2.0/mlflow-artifacts/artifacts/");
        for (String segment : (root + "/" + artifactPath).split("/")) {
            if (!segment.isEmpty()) {
                path.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20")).append('/');
            }
        }
        path.setLength(path.length() - 1);
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path.toString())).timeout(timeout)
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(file)).build();
        check(http.send(request, HttpResponse.BodyHandlers.ofString()), "PUT " + path);
    }

    private JsonObject send(String method, String path, Object body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout).header("Accept", "application/json");
        if (body == null) {
            b.GET();
        } else {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(gson.toJson(body), StandardCharsets.UTF_8));
        }
        HttpResponse<String> response = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        check(response, method + " " + path);
        String text = response.body();
        return text == null || text.isBlank() ? new JsonObject() : JsonParser.parseString(text).getAsJsonObject();
    }

    private static void check(HttpResponse<String> response, String what) throws MlflowException {
        int status = response.statusCode();
        if (status / 100 == 2) {
            return;
        }
        String code = "";
        String message = response.body() == null ? "" : response.body();
        try {
            JsonObject o = JsonParser.parseString(message).getAsJsonObject();
            code = o.has("error_code") ? o.get("error_code").getAsString() : "";
            message = o.has("message") ? o.get("message").getAsString() : message;
        } catch (RuntimeException notJson) {
            // keep the body as the message
        }
        throw new MlflowException(status, code, what + " -> HTTP " + status + (code.isEmpty() ? "" : " " + code) + ": "
                + (message.length() > 300 ? message.substring(0, 300) + "..." : message));
    }
}
