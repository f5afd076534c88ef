package dev.peft4j.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.Engines;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.ExperimentConfig;
import dev.peft4j.runtime.train.MetricsLog;
import dev.peft4j.runtime.train.RunReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j compare EXP.conf --methods lora,ia3,... --out DIR}: trains the same experiment once per adapter method
 * (same data, the same seeded training subset, the same number of updates, the same seed) and writes
 * {@code methods.md}, {@code methods.csv} and {@code methods.svg} (the selection metric against trainable parameters,
 * log x, drawn by {@link RunReport#scatter}). The experiment's {@code method} section is replaced by
 * {@code { name = METHOD }} (the experiment's own section is kept for the method it names), then the
 * {@code --set METHOD:KEY=VALUE} settings of that method apply ({@code --set full:train.learning-rate=5e-5},
 * {@code --set lora:method.r=16}). Every configuration is validated before the first run.
 *
 * <p>Each method trains in its own child JVM ({@code compare --run-one CONF}, the same JVM options and class path, as
 * {@code bench} does), so that its peak resident set ({@code VmHWM}, which only grows within a process) is its own; the
 * child prints it when training is done. Per method: {@code DIR/configs/METHOD.conf}, the run directory
 * {@code DIR/runs/METHOD} and the child's output {@code DIR/logs/METHOD.log}. Columns: trainable parameters = elements
 * of the run's {@code model/trainable.safetensors} (the method's tensors and the head); the selection metric of the final
 * evaluation ({@code eval.json}; with {@code train.load-best} the best checkpoint's); ms/step = the median over
 * {@code metrics.jsonl}'s logging windows of forward + backward + optimizer time per update (evaluation excluded; the
 * first window, with the warm-up of the engine, left out when there are others); peak RSS of the child JVM; adapter
 * size = bytes of the run's {@code adapter/} directory. A method that fails is reported as failed and the others run.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Train one experiment with several adapter methods (same data, steps and seed, one child JVM each) and write "
                + "methods.md, methods.csv and methods.svg (metric vs trainable parameters).")
final class CompareCommand implements Callable<Integer> {
    static final String PEAK_RSS = "compare-peak-rss-mb=";
    private static final Pattern SET = Pattern.compile("([A-Za-z0-9_.-]+):([^=]+)=(.*)", Pattern.DOTALL);

    @Parameters(index = "0", paramLabel = "EXP.conf", description = "The experiment file (its method section is replaced per method).")
    Path experiment;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Overrides for every method, e.g. peft4j.data=../shared/data.")
    List<String> overrides;

    @Option(names = "--methods", split = ",", paramLabel = "METHOD", description = "Adapter methods to compare, comma-separated.")
    List<String> methods;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (configs/, runs/, logs/, methods.md, methods.csv, methods.svg).")
    Path out;

    @Option(names = "--max-train", defaultValue = "0", paramLabel = "N",
            description = "Train on a seeded subset of at most N examples (data.train-limit; the same subset for every method); 0: as the experiment says.")
    int maxTrain;

    @Option(names = "--steps", defaultValue = "0", paramLabel = "S",
            description = "Optimizer updates per method (train.max-steps); 0: as the experiment says.")
    long steps;

    @Option(names = "--set", paramLabel = "METHOD:KEY=VALUE",
            description = "A setting for one method only, e.g. full:train.learning-rate=5e-5 or lora:method.r=16 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "PyTorch threads of each child JVM (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars (overrides plugins.dir).")
    Path plugins;

    @Option(names = "--run-one", paramLabel = "CONF", hidden = true, description = "Train one prepared config in this JVM (what each child runs).")
    Path runOne;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One method's line of the table; {@code failure} is null when it ran. */
    record Row(String method, long trainable, String metric, double value, double msPerStep, long peakRssMb, long adapterBytes,
            double learningRate, long steps, String failure) {}

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        if (runOne != null) {
            try (Peft4j peft4j = RunCommands.host(plugins)) {
                peft4j.experiment(runOne, RunCommands.overrides(List.of())).run();
            }
            stdout.println(PEAK_RSS + BenchCommand.peakRssMb());
            stdout.flush();
            return 0;
        }
        Map<String, Config> configs = prepare();
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, Config> e : configs.entrySet()) {
            if (Interruption.requested()) {
                break;
            }
            String method = e.getKey();
            System.err.println("compare: training " + method + " (" + (rows.size() + 1) + " of " + configs.size() + "), log in "
                    + out.resolve("logs").resolve(method + ".log"));
            int code = runChild(method);
            Row row = row(method, out.resolve("runs").resolve(method), out.resolve("logs").resolve(method + ".log"), code);
            rows.add(row);
            System.err.println("compare: " + method + (row.failure() == null
                    ? String.format(Locale.ROOT, ": %s = %.4f, %,d trainable, %.0f ms/step, peak RSS %d MB", row.metric(), row.value(), row.trainable(),
                            row.msPerStep(), row.peakRssMb())
                    : " failed: " + row.failure()));
        }
        write(rows);
        stdout.print(markdownTable(rows));
        stdout.println("wrote " + out.resolve("methods.md") + ", methods.csv and methods.svg");
        stdout.flush();
        return rows.stream().allMatch(r -> r.failure() == null) && rows.size() == configs.size() ? 0 : 1;
    }

    /** Checks the options, writes {@code configs/METHOD.conf} for each method and validates each; nothing is trained yet. */
    Map<String, Config> prepare() throws IOException {
        CommandLine cl = spec.commandLine();
        if (methods == null || methods.isEmpty() || out == null) {
            throw new CommandLine.ParameterException(cl, "--methods and --out are required");
        }
        if (new LinkedHashSet<>(methods).size() != methods.size()) {
            throw new CommandLine.ParameterException(cl, "--methods lists a method twice: " + methods);
        }
        if (maxTrain < 0 || steps < 0 || threads < 1) {
            throw new CommandLine.ParameterException(cl, "--max-train and --steps must be >= 0 and --threads >= 1");
        }
        Map<String, List<String>> perMethod = new LinkedHashMap<>();
        methods.forEach(m -> perMethod.put(m, new ArrayList<>()));
        for (String set : sets) {
            Matcher m = SET.matcher(set);
            if (!m.matches() || !perMethod.containsKey(m.group(1))) {
                throw new CommandLine.ParameterException(cl, "--set " + set + ": expected METHOD:KEY=VALUE with METHOD one of " + methods);
            }
            perMethod.get(m.group(1)).add(m.group(2).trim() + "=" + m.group(3));
        }
        for (String method : methods) {
            if (Files.exists(out.resolve("runs").resolve(method))) {
                throw new Peft4jException(out.resolve("runs").resolve(method) + " exists: a comparison never resumes or mixes runs; "
                        + "choose another --out or delete it");
            }
        }
        List<String> common = new ArrayList<>(Arrays.asList(RunCommands.overrides(overrides)));
        if (maxTrain > 0) {
            common.add("data.train-limit=" + maxTrain);
        }
        if (steps > 0) {
            common.add("train.max-steps=" + steps);
        }
        Map<String, Config> configs = new LinkedHashMap<>();
        Files.createDirectories(out.resolve("configs"));
        Files.createDirectories(out.resolve("logs"));
        try (Peft4j peft4j = RunCommands.host(plugins)) {
            for (String method : methods) {
                List<String> methodSettings = new ArrayList<>();
                List<String> otherSettings = new ArrayList<>(common);
                for (String s : perMethod.get(method)) {
                    (s.startsWith("method.") ? methodSettings : otherSettings).add(s);
                }
                otherSettings.add("run.name=" + method);
                otherSettings.add("run.dir=\"" + escape(out.resolve("runs").resolve(method).toAbsolutePath().toString()) + "\"");
                Config user = ExperimentConfig.load(experiment, otherSettings).userConfig();
                Config section = user.hasPath("method.name") && method.equals(user.getValue("method.name").unwrapped())
                        ? user.getConfig("method")
                        : ConfigFactory.empty().withValue("name", ConfigValueFactory.fromAnyRef(method));
                Config replaced = user.withoutPath("method").withValue("method", section.root());
                Config config = ExperimentConfig.load(replaced, methodSettings).userConfig();
                Path file = out.resolve("configs").resolve(method + ".conf");
                Files.writeString(file, "# peft4j compare: " + method + " (from " + experiment + ")\n"
                        + config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setComments(false).setJson(false)),
                        StandardCharsets.UTF_8);
                try {
                    peft4j.experiment(file).validate();
                } catch (RuntimeException e) {
                    throw new Peft4jException("compare: the config of method " + method + " (" + file + ") is not valid: " + e.getMessage(), e);
                }
                configs.put(method, config);
            }
        }
        return configs;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** Trains one method in a child JVM with this JVM's options and class path; returns its exit code. */
    private int runChild(String method) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-D" + Engines.THREADS_PROPERTY + "=") && !arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) {
                command.add(arg);
            }
        }
        command.add("-D" + Engines.THREADS_PROPERTY + "=" + threads);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(), "compare", experiment.toString(),
                "--run-one", out.resolve("configs").resolve(method + ".conf").toString()));
        if (plugins != null) {
            command.addAll(List.of("--plugins", plugins.toString()));
        }
        Path log = out.resolve("logs").resolve(method + ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            process.destroy();
            throw e;
        }
    }

    /** A method's row from its run directory and log. */
    static Row row(String method, Path run, Path log, int exitCode) {
        try {
            String logText = Files.isRegularFile(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher rss = Pattern.compile(Pattern.quote(PEAK_RSS) + "(-?\\d+)").matcher(logText);
            if (exitCode != 0 || !rss.find() || !Files.isRegularFile(run.resolve("eval.json"))) {
                return new Row(method, 0, "", Double.NaN, Double.NaN, -1, -1, Double.NaN, 0, "exit code " + exitCode + ", see " + log);
            }
            JsonObject eval = JsonParser.parseString(Files.readString(run.resolve("eval.json"), StandardCharsets.UTF_8)).getAsJsonObject();
            String metric = eval.get("selection_metric").getAsString();
            double value = eval.getAsJsonObject("metrics").has(metric) ? eval.getAsJsonObject("metrics").get(metric).getAsDouble() : Double.NaN;
            long trainable = 0;
            try (SafetensorsFile file = SafetensorsFile.open(run.resolve("model").resolve("trainable.safetensors"))) {
                for (String name : file.names()) {
                    trainable += Arrays.stream(file.entry(name).shape()).reduce(1, (a, b) -> a * b);
                }
            }
            Config resolved = ConfigFactory.parseFile(run.resolve("resolved.conf").toFile()).resolve();
            return new Row(method, trainable, metric, value, msPerStep(MetricsLog.read(run.resolve("metrics.jsonl"))), Long.parseLong(rss.group(1)),
                    directoryBytes(run.resolve("adapter")), resolved.getDouble("train.learning-rate"), eval.get("steps").getAsLong(), null);
        } catch (IOException | RuntimeException e) {
            return new Row(method, 0, "", Double.NaN, Double.NaN, -1, -1, Double.NaN, 0, "cannot read its results: " + e.getMessage());
        }
    }

    /** The median per-update time (forward + backward + optimizer) over the logging windows, the first left out when there are others. */
    static double msPerStep(List<JsonObject> lines) {
        List<Double> windows = lines.stream().filter(o -> o.get("type").getAsString().equals("train") && o.has("forward_backward_ms"))
                .map(o -> o.get("forward_backward_ms").getAsDouble() + o.get("optimizer_ms").getAsDouble()).toList();
        if (windows.isEmpty()) {
            return Double.NaN;
        }
        List<Double> used = new ArrayList<>(windows.size() > 1 ? windows.subList(1, windows.size()) : windows);
        used.sort(Double::compare);
        int n = used.size();
        return n % 2 == 1 ? used.get(n / 2) : (used.get(n / 2 - 1) + used.get(n / 2)) / 2;
    }

    static long directoryBytes(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            long total = 0;
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                total += Files.size(p);
            }
            return total;
        }
    }

    private void write(List<Row> rows) throws IOException {
        StringBuilder csv = new StringBuilder("method,trainable_params,metric,value,ms_per_step,peak_rss_mb,adapter_bytes,learning_rate,steps,status\n");
        for (Row r : rows) {
            csv.append(String.join(",", r.method(), Long.toString(r.trainable()), r.metric(), num(r.value(), "%.4f"), num(r.msPerStep(), "%.1f"),
                    Long.toString(r.peakRssMb()), Long.toString(r.adapterBytes()), num(r.learningRate(), "%s"), Long.toString(r.steps()),
                    r.failure() == null ? "ok" : "\"failed: " + r.failure().replace("\"", "'") + "\"")).append('\n');
        }
        Files.writeString(out.resolve("methods.csv"), csv.toString(), StandardCharsets.UTF_8);
        List<RunReport.Point> points = rows.stream().filter(r -> r.failure() == null)
                .map(r -> new RunReport.Point(r.method(), r.trainable(), r.value())).toList();
        String metric = rows.stream().filter(r -> r.failure() == null).map(Row::metric).findFirst().orElse("metric");
        Files.writeString(out.resolve("methods.svg"), RunReport.scatter("dev " + metric + " vs trainable parameters", points,
                "trainable parameters (method + head, log scale)", "dev " + metric), StandardCharsets.UTF_8);
        String md = "# Method comparison\n\n`peft4j compare " + experiment + " --methods " + String.join(",", methods)
                + (maxTrain > 0 ? " --max-train " + maxTrain : "") + (steps > 0 ? " --steps " + steps : "")
                + sets.stream().map(s -> " --set " + s).reduce("", String::concat) + (overrides == null ? "" : " " + String.join(" ", overrides))
                + "`\n\nSame data, training subset, updates and seed for every method; each trained in its own JVM with " + threads
                + " PyTorch threads. Configs in `configs/`, runs in `runs/`, logs in `logs/`.\n\n" + markdownTable(rows)
                + "\n![dev " + metric + " vs trainable parameters](methods.svg)\n";
        Files.writeString(out.resolve("methods.md"), md, StandardCharsets.UTF_8);
    }

    static String markdownTable(List<Row> rows) {
        String metric = rows.stream().filter(r -> r.failure() == null).map(Row::metric).findFirst().orElse("metric");
        StringBuilder s = new StringBuilder("| method | trainable params | dev " + metric + " | ms/step | peak RSS (MB) | adapter size (bytes) | learning rate | steps |\n");
        s.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            if (r.failure() != null) {
                s.append("| ").append(r.method()).append(" | failed: ").append(r.failure().replace("|", "/")).append(" | | | | | | |\n");
                continue;
            }
            s.append(String.format(Locale.ROOT, "| %s | %,d | %.4f | %s | %d | %s | %s | %d |%n", r.method(), r.trainable(), r.value(),
                    num(r.msPerStep(), "%.0f"), r.peakRssMb(), r.adapterBytes() < 0 ? "-" : String.format(Locale.ROOT, "%,d", r.adapterBytes()),
                    num(r.learningRate(), "%s"), r.steps()));
        }
        return s.toString();
    }

    private static String num(double v, String format) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "";
    }
}
