package dev.peft4j.runtime.tracking;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The {@code tracking.mlflow} section.
 *
 * @param url the tracking server, {@code http(s)://host[:port][/prefix]}
 * @param experiment the MLflow experiment (created when missing)
 * @param runName the MLflow run's name; empty: {@code run.name}
 * @param requestTimeout one HTTP request's limit
 * @param flushTimeout how long the end of a run may wait to deliver what is still buffered
 * @param bufferSize how many pending requests are kept while the server cannot be reached (more are dropped and counted)
 * @param artifacts whether the report, the evaluation and the adapter are uploaded (needs the server's artifact proxy)
 */
public record MlflowConfig(URI url, String experiment, Optional<String> runName, Duration requestTimeout, Duration flushTimeout, int bufferSize,
        boolean artifacts) {
    static MlflowConfig from(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        String rawUrl = r.string("url");
        URI url = null;
        if (rawUrl.isBlank()) {
            r.problem("url", "is empty, expected the MLflow tracking server's URL, such as \"http://127.0.0.1:5000\"");
        } else {
            try {
                url = parseUrl(rawUrl);
            } catch (IllegalArgumentException e) {
                r.problem("url", "is \"" + rawUrl + "\": " + e.getMessage() + "; expected http(s)://host[:port][/path], such as \"http://127.0.0.1:5000\"");
            }
        }
        String experiment = r.string("experiment");
        if (experiment.isBlank()) {
            r.problem("experiment", "is empty, expected the MLflow experiment's name");
        }
        String runName = r.string("run-name");
        double request = r.doubleValue("request-timeout-s", 0, false, 600, true);
        double flush = r.doubleValue("flush-timeout-s", 0, true, 3600, true);
        int buffer = r.intValue("buffer-size", 1, 10_000_000);
        boolean artifacts = r.bool("artifacts");
        r.finish();
        return new MlflowConfig(url, experiment, runName.isBlank() ? Optional.empty() : Optional.of(runName),
                Duration.ofMillis((long) (request * 1000)), Duration.ofMillis((long) (flush * 1000)), buffer, artifacts);
    }

    /** An absolute http(s) URL with a host and no query or fragment; a trailing {@code /} is dropped. */
    static URI parseUrl(String raw) {
        URI uri;
        try {
            uri = new URI(raw.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL (" + e.getReason() + " at index " + e.getIndex() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException(uri.getScheme() == null ? "no scheme" : "scheme '" + uri.getScheme() + "' is not http or https");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("no host");
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
            throw new IllegalArgumentException("a query or fragment is not allowed");
        }
        String s = uri.toString();
        return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    }
}
