package dev.peft4j.runtime.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html}: one self-contained page (no scripts, no external files) with the training loss
 * and each evaluation metric as inline SVG line charts, the final metrics, trainable vs total
 * parameters, timings, and the resolved config.
 */
public final class RunReport {
    /** What the page shows besides the curves in {@code metrics.jsonl}. */
    public record Summary(String title, String method, String head, long trainableParameters, long totalParameters,
            Map<String, Double> finalMetrics, String selectionMetric, Map<String, String> timings, String resolvedConfig) {}

    private RunReport() {}

    public static Path write(Path runDirectory, Summary summary) {
        List<JsonObject> lines = MetricsLog.read(runDirectory.resolve("metrics.jsonl"));
        String html = render(lines, summary);
        Path file = runDirectory.resolve("report.html");
        Path temp = runDirectory.resolve(".report.html.tmp");
        try {
            Files.writeString(temp, html, StandardCharsets.UTF_8);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    static String render(List<JsonObject> lines, Summary s) {
        Map<String, List<double[]>> train = series(lines, "train");
        Map<String, List<double[]>> eval = series(lines, "eval");
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(s.title())).append("</title>\n<style>")
                .append("body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1000px;color:#222}")
                .append("h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}")
                .append("table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #eee;text-align:left}")
                .append("td.n{text-align:right;font-variant-numeric:tabular-nums}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #e3e3e3;border-radius:4px;padding:.3em}")
                .append("pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:.85em}</style></head><body>\n");
        b.append("<h1>").append(esc(s.title())).append("</h1>\n<p>method <b>").append(esc(s.method())).append("</b>, head <b>")
                .append(esc(s.head())).append("</b></p>\n");
        b.append("<h2>Final evaluation</h2>\n<table><tr><th>metric</th><th>value</th></tr>\n");
        s.finalMetrics().forEach((k, v) -> b.append("<tr><td>").append(esc(k)).append(k.equals(s.selectionMetric()) ? " (selection)" : "")
                .append("</td><td class=\"n\">").append(fmt(v)).append("</td></tr>\n"));
        b.append("</table>\n<h2>Parameters</h2>\n<table>");
        b.append(row("trainable", String.format(Locale.ROOT, "%,d", s.trainableParameters())));
        b.append(row("total", String.format(Locale.ROOT, "%,d", s.totalParameters())));
        b.append(row("trainable %", String.format(Locale.ROOT, "%.4f", 100.0 * s.trainableParameters() / Math.max(1, s.totalParameters()))));
        b.append("</table>\n<h2>Timings</h2>\n<table>");
        s.timings().forEach((k, v) -> b.append(row(k, v)));
        b.append("</table>\n<h2>Curves</h2>\n<div class=\"charts\">\n");
        if (train.containsKey("loss")) {
            b.append(chart("training loss", train.get("loss"), eval.get("loss"), "train", "eval"));
        }
        if (train.containsKey("learning_rate")) {
            b.append(chart("learning rate", train.get("learning_rate"), null, "lr", null));
        }
        for (Map.Entry<String, List<double[]>> e : eval.entrySet()) {
            if (!e.getKey().equals("loss")) {
                b.append(chart("eval " + e.getKey(), e.getValue(), null, e.getKey(), null));
            }
        }
        b.append("</div>\n<h2>Resolved config</h2>\n<pre>").append(esc(s.resolvedConfig())).append("</pre>\n</body></html>\n");
        return b.toString();
    }

    private static String row(String k, String v) {
        return "<tr><td>" + esc(k) + "</td><td class=\"n\">" + esc(v) + "</td></tr>\n";
    }

    /** Numeric fields of the lines of one type, as (step, value) series in file order. */
    public static Map<String, List<double[]>> series(List<JsonObject> lines, String type) {
        Map<String, List<double[]>> out = new LinkedHashMap<>();
        for (JsonObject o : lines) {
            if (!type.equals(o.get("type").getAsString())) {
                continue;
            }
            double step = o.get("step").getAsDouble();
            for (Map.Entry<String, JsonElement> e : o.entrySet()) {
                String k = e.getKey();
                if (k.equals("type") || k.equals("step") || k.equals("epoch") || k.equals("elapsed_s") || k.equals("eval_s") || k.endsWith("_ms") || !e.getValue().isJsonPrimitive()
                        || !e.getValue().getAsJsonPrimitive().isNumber()) {
                    continue;
                }
                out.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {step, e.getValue().getAsDouble()});
            }
        }
        return out;
    }

    /** A 460 x 260 line chart with axes, 5 ticks per axis and an optional second series. */
    static String chart(String title, List<double[]> a, List<double[]> b, String aName, String bName) {
        List<String> names = new ArrayList<>();
        List<List<double[]>> series = new ArrayList<>();
        names.add(aName);
        series.add(a);
        if (b != null && !b.isEmpty()) {
            names.add(bName);
            series.add(b);
        }
        return chart(title, names, series, series.size() > 1);
    }

    /** Line colours, in series order (cycled). */
    public static final List<String> COLOURS = List.of("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf");

    /**
     * A 460 x 260 line chart of several (step, value) series on shared axes, 5 ticks per axis; series {@code i} is drawn
     * in {@code COLOURS[i % 10]}, with an in-chart legend when {@code legend} is set (a sweep page puts it in a table).
     */
    public static String chart(String title, List<String> names, List<List<double[]>> series, boolean legend) {
        int w = 460;
        int h = 260;
        int left = 58;
        int right = 12;
        int top = 28;
        int bottom = 36;
        List<double[]> all = new ArrayList<>();
        series.forEach(all::addAll);
        double minX = all.stream().mapToDouble(p -> p[0]).min().orElse(0);
        double maxX = all.stream().mapToDouble(p -> p[0]).max().orElse(1);
        double minY = all.stream().mapToDouble(p -> p[1]).filter(Double::isFinite).min().orElse(0);
        double maxY = all.stream().mapToDouble(p -> p[1]).filter(Double::isFinite).max().orElse(1);
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY == minY) {
            maxY = minY + Math.max(1e-9, Math.abs(minY) * 0.1);
            minY = minY - Math.max(1e-9, Math.abs(minY) * 0.1);
        }
        double pad = (maxY - minY) * 0.05;
        minY = minY >= 0 ? Math.max(0, minY - pad) : minY - pad;
        maxY += pad;
        StringBuilder s = new StringBuilder();
        s.append("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w).append("\" height=\"").append(h)
                .append("\" viewBox=\"0 0 ").append(w).append(' ').append(h).append("\" role=\"img\" aria-label=\"").append(esc(title)).append("\">");
        s.append("<text x=\"").append(w / 2).append("\" y=\"18\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"600\">").append(esc(title))
                .append("</text>");
        int plotW = w - left - right;
        int plotH = h - top - bottom;
        for (int i = 0; i <= 4; i++) {
            double fy = minY + (maxY - minY) * i / 4;
            double y = top + plotH - plotH * (double) i / 4;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", left, w - right, y, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">%s</text>", left - 4, y + 3,
                    tick(fy, minY, maxY)));
            double fx = minX + (maxX - minX) * i / 4;
            double x = left + plotW * (double) i / 4;
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">%s</text>", x,
                    h - bottom + 14, Long.toString(Math.round(fx)))); // steps are whole numbers
        }
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>", left, top, plotW, plotH));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">step</text>",
                left + plotW / 2, h - 6));
        for (int i = 0; i < series.size(); i++) {
            if (series.get(i) == null || series.get(i).isEmpty()) {
                continue;
            }
            String colour = COLOURS.get(i % COLOURS.size());
            s.append(polyline(series.get(i), minX, maxX, minY, maxY, left, top, plotW, plotH, colour));
            if (legend) {
                s.append(legend(w - right - 120, top + 12 + 14 * i, names.get(i), colour));
            }
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static String legend(int x, int y, String name, String colour) {
        return String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                + "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", x, x + 18, y, y, colour, x + 22, y + 3, esc(name));
    }

    private static String polyline(List<double[]> points, double minX, double maxX, double minY, double maxY, int left, int top, int plotW,
            int plotH, String colour) {
        StringBuilder p = new StringBuilder();
        for (double[] pt : points) {
            if (!Double.isFinite(pt[1])) {
                continue;
            }
            double x = left + plotW * (pt[0] - minX) / (maxX - minX);
            double y = top + plotH - plotH * (pt[1] - minY) / (maxY - minY);
            p.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        String marker = points.size() <= 40 ? points.stream().filter(pt -> Double.isFinite(pt[1])).map(pt -> String.format(Locale.ROOT,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", left + plotW * (pt[0] - minX) / (maxX - minX),
                top + plotH - plotH * (pt[1] - minY) / (maxY - minY), colour)).reduce("", String::concat) : "";
        return "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.6\" points=\"" + p.toString().trim() + "\"/>" + marker;
    }

    /**
     * One y tick, formatted alike for the whole axis [min, max]: scientific when the axis is tiny or huge
     * (learning rates), else fixed with enough decimals to tell ticks a quarter of the span apart.
     */
    static String tick(double v, double min, double max) {
        double largest = Math.max(Math.abs(min), Math.abs(max));
        if (largest != 0 && (largest < 1e-2 || largest >= 1e5)) {
            return String.format(Locale.ROOT, "%.2e", v);
        }
        double step = (max - min) / 4;
        int decimals = step > 0 ? Math.max(0, Math.min(6, (int) Math.ceil(-Math.log10(step)) + 1)) : 3;
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static String fmt(Double v) {
        return v == null || !Double.isFinite(v) ? "n/a" : String.format(Locale.ROOT, "%.4f", v);
    }

    public static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
