package dev.peft4j.runtime.tracking;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process HTTP server that answers MLflow's REST calls the way {@code mlflow server} does (shapes from MLflow's REST
 * API reference) and records every request, so tests can check what the client sent.
 */
public final class FakeMlflowServer implements AutoCloseable {
    public record Request(String method, String path, String query, String body, byte[] bytes) {
        public JsonObject json() {
            return JsonParser.parseString(body).getAsJsonObject();
        }
    }

    public final List<Request> requests = new CopyOnWriteArrayList<>();
    /** Answer the next N requests with HTTP 503 (a server that is down). */
    public final AtomicInteger failNext = new AtomicInteger();
    volatile boolean experimentExists;
    volatile String artifactUri = "mlflow-artifacts:/7/run-1/artifacts";
    private final HttpServer server;

    public FakeMlflowServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] bytes = ex.getRequestBody().readAllBytes();
        String path = ex.getRequestURI().getRawPath();
        if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            respond(ex, 503, "{\"error_code\": \"TEMPORARILY_UNAVAILABLE\", \"message\": \"down\"}");
            return;
        }
        requests.add(new Request(ex.getRequestMethod(), path, ex.getRequestURI().getRawQuery(), new String(bytes, StandardCharsets.UTF_8), bytes));
        switch (path) {
            case "/api/2.0/mlflow/experiments/get-by-name" -> {
                if (experimentExists) {
                    respond(ex, 200, "{\"experiment\": {\"experiment_id\": \"7\", \"name\": \"x\"}}");
                } else {
                    respond(ex, 404, "{\"error_code\": \"RESOURCE_DOES_NOT_EXIST\", \"message\": \"Could not find experiment\"}");
                }
            }
            case "/api/2.0/mlflow/experiments/create" -> {
                experimentExists = true;
                respond(ex, 200, "{\"experiment_id\": \"7\"}");
            }
            case "/api/2.0/mlflow/runs/create" -> respond(ex, 200, "{\"run\": {\"info\": {\"run_id\": \"run-1\", \"experiment_id\": \"7\","
                    + " \"artifact_uri\": \"" + artifactUri + "\", \"status\": \"RUNNING\"}, \"data\": {}}}");
            case "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/update" -> respond(ex, 200, "{}");
            default -> {
                if (path.startsWith("/api/2.0/mlflow-artifacts/artifacts/") && ex.getRequestMethod().equals("PUT")) {
                    respond(ex, 200, "{}");
                } else {
                    respond(ex, 404, "{\"error_code\": \"ENDPOINT_NOT_FOUND\", \"message\": \"no " + path + "\"}");
                }
            }
        }
    }

    private static void respond(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
        }
    }

    public List<Request> to(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
