package dev.peft4j.runtime.sweep;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonObject;
import dev.peft4j.runtime.train.Evaluator;
import dev.peft4j.runtime.train.MetricsLog;
import dev.peft4j.runtime.train.RunReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The summary of a sweep, written from trial results (by {@link Sweep}, or by any scheduler that collected them):
 * {@code summary.csv} and {@code summary.md} (one row per trial: id, status, each swept value, the selection metric,
 * its best value and step, training and wall seconds, the error of a failed trial; the best trial marked) and
 * {@code sweep.html} (the table, then the evaluation metric and the training loss of every trial on shared axes,
 * read from each trial's {@code metrics.jsonl}). Each file is written to a temporary file and renamed into place.
 */
public final class SweepSummary {
    public static final String CSV = "summary.csv";
    public static final String MARKDOWN = "summary.md";
    public static final String HTML = "sweep.html";

    private SweepSummary() {}

    /** Writes the three files into {@code directory}. */
    public static void write(Path directory, List<TrialResult> results) {
        requireNonNull(directory, "directory is null");
        requireNonNull(results, "results is null");
        List<String> keys = keys(results);
        Optional<TrialResult> best = best(results);
        SweepTrialRunner.writeAtomically(directory.resolve(CSV), csv(keys, results));
        SweepTrialRunner.writeAtomically(directory.resolve(MARKDOWN), markdown(keys, results, best));
        SweepTrialRunner.writeAtomically(directory.resolve(HTML), html(directory, keys, results, best));
    }

    /**
     * The done trial with the best value of the selection metric (lowest for loss, mse and perplexity, else highest).
     * Trials selected on different metrics are not compared: the metric of the first done trial decides.
     */
    public static Optional<TrialResult> best(List<TrialResult> results) {
        TrialResult best = null;
        String metric = null;
        for (TrialResult r : results) {
            if (r.status() != TrialResult.Status.DONE || r.value().isEmpty() || r.metric().isEmpty()) {
                continue;
            }
            if (metric == null) {
                metric = r.metric().get();
            }
            if (!metric.equals(r.metric().get())) {
                continue;
            }
            boolean lower = Evaluator.lowerIsBetter(metric);
            if (best == null || (lower ? r.value().get() < best.value().get() : r.value().get() > best.value().get())) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    private static List<String> keys(List<TrialResult> results) {
        Set<String> keys = new LinkedHashSet<>();
        results.forEach(r -> keys.addAll(r.trial().overrides().keySet()));
        return List.copyOf(keys);
    }

    private static List<String> header(List<String> keys) {
        List<String> h = new ArrayList<>(List.of("trial", "status"));
        h.addAll(keys);
        h.addAll(List.of("metric", "value", "best_step", "train_s", "wall_s", "error"));
        return h;
    }

    private static List<String> row(List<String> keys, TrialResult r) {
        List<String> row = new ArrayList<>(List.of(r.trial().id(), r.status().name().toLowerCase(Locale.ROOT)));
        keys.forEach(k -> row.add(r.trial().overrides().getOrDefault(k, "")));
        row.add(r.metric().orElse(""));
        row.add(r.value().map(v -> String.format(Locale.ROOT, "%.4f", v)).orElse(""));
        row.add(r.bestStep().map(String::valueOf).orElse(""));
        row.add(r.trainSeconds().map(s -> String.format(Locale.ROOT, "%.1f", s)).orElse(""));
        row.add(r.status() == TrialResult.Status.PENDING ? "" : String.format(Locale.ROOT, "%.1f", r.wallSeconds()));
        row.add(r.error().orElse(""));
        return row;
    }

    static String csv(List<String> keys, List<TrialResult> results) {
        StringBuilder b = new StringBuilder();
        b.append(String.join(",", header(keys).stream().map(SweepSummary::csvCell).toList())).append('\n');
        for (TrialResult r : results) {
            b.append(String.join(",", row(keys, r).stream().map(SweepSummary::csvCell).toList())).append('\n');
        }
        return b.toString();
    }

    /** RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
    private static String csvCell(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    static String markdown(List<String> keys, List<TrialResult> results, Optional<TrialResult> best) {
        StringBuilder b = new StringBuilder("# Sweep summary\n\n");
        long done = results.stream().filter(r -> r.status() == TrialResult.Status.DONE).count();
        long failed = results.stream().filter(r -> r.status() == TrialResult.Status.FAILED).count();
        b.append(String.format(Locale.ROOT, "%d trials: %d done, %d failed, %d pending.", results.size(), done, failed,
                results.size() - done - failed));
        best.ifPresent(r -> b.append(String.format(Locale.ROOT, " Best: %s (%s = %.4f at step %s), %s.", r.trial().id(), r.metric().get(),
                r.value().get(), r.bestStep().map(String::valueOf).orElse("-"), r.trial().describe())));
        b.append("\n\n");
        List<String> header = header(keys);
        b.append("| ").append(String.join(" | ", header)).append(" |\n|");
        header.forEach(h -> b.append("---|"));
        b.append('\n');
        for (TrialResult r : results) {
            List<String> row = row(keys, r);
            if (best.isPresent() && best.get() == r) {
                row.set(0, "**" + row.get(0) + "** (best)");
            }
            b.append("| ").append(String.join(" | ", row.stream().map(c -> c.replace("|", "\\|").replace("\n", " ")).toList())).append(" |\n");
        }
        return b.toString();
    }

    static String html(Path directory, List<String> keys, List<TrialResult> results, Optional<TrialResult> best) {
        StringBuilder b = new StringBuilder();
        String title = "Sweep " + directory.toAbsolutePath().normalize().getFileName();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(RunReport.esc(title)).append("</title>\n<style>")
                .append("body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1000px;color:#222}")
                .append("h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}")
                .append("table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #e3e3e3;border-radius:4px;padding:.3em}")
                .append(".swatch{display:inline-block;width:1.4em;height:.3em;vertical-align:middle;margin-right:.4em}</style></head><body>\n");
        b.append("<h1>").append(RunReport.esc(title)).append("</h1>\n<table><tr>");
        header(keys).forEach(h -> b.append("<th>").append(RunReport.esc(h)).append("</th>"));
        b.append("</tr>\n");
        for (int i = 0; i < results.size(); i++) {
            TrialResult r = results.get(i);
            List<String> row = row(keys, r);
            b.append("<tr>");
            for (int c = 0; c < row.size(); c++) {
                b.append("<td>");
                if (c == 0) {
                    b.append("<span class=\"swatch\" style=\"background:").append(RunReport.COLOURS.get(i % RunReport.COLOURS.size()))
                            .append("\"></span><a href=\"").append(RunReport.esc(r.trial().id())).append("/report.html\">")
                            .append(RunReport.esc(row.get(0))).append("</a>")
                            .append(best.isPresent() && best.get() == r ? " <b>(best)</b>" : "");
                } else {
                    b.append(RunReport.esc(row.get(c)));
                }
                b.append("</td>");
            }
            b.append("</tr>\n");
        }
        b.append("</table>\n<h2>Curves</h2>\n<div class=\"charts\">\n");
        List<String> names = new ArrayList<>();
        List<List<double[]>> metricSeries = new ArrayList<>();
        List<List<double[]>> lossSeries = new ArrayList<>();
        String metric = best.flatMap(TrialResult::metric)
                .orElse(results.stream().flatMap(r -> r.metric().stream()).findFirst().orElse(null));
        for (TrialResult r : results) {
            List<JsonObject> lines = MetricsLog.read(r.runDirectory().resolve("metrics.jsonl"));
            Map<String, List<double[]>> eval = RunReport.series(lines, "eval");
            Map<String, List<double[]>> train = RunReport.series(lines, "train");
            names.add(r.trial().id());
            metricSeries.add(metric == null ? List.of() : eval.getOrDefault(metric, List.of()));
            lossSeries.add(train.getOrDefault("loss", List.of()));
        }
        if (metric != null && metricSeries.stream().anyMatch(s -> !s.isEmpty())) {
            b.append(RunReport.chart("eval " + metric, names, metricSeries, false));
        }
        if (lossSeries.stream().anyMatch(s -> !s.isEmpty())) {
            b.append(RunReport.chart("training loss", names, lossSeries, false));
        }
        b.append("</div>\n<p>Each trial's own report (config, timings, every metric) is linked from its id.</p>\n</body></html>\n");
        return b.toString();
    }
}
