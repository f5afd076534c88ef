package dev.peft4j.models;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.jni.LibUtils;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What DJL's PyTorch engine found on this machine: the libtorch it loaded (version, flavour, folder, and
 * whether it came from {@code PYTORCH_LIBRARY_PATH}, the class path or DJL's download cache), the devices
 * libtorch sees, its thread pools, and a verdict. {@code peft4j doctor} prints it; a GPU request that
 * cannot be met quotes its summary. docs/gpu.md explains each route.
 *
 * @param started whether the engine started; when not, {@code failure} says why and the other fields are empty
 */
public record EngineReport(boolean started, String failure, String engineVersion, String libtorchVersion, String flavour,
        String libtorchPath, String source, int gpuCount, List<String> devices, int intraOpThreads, int interOpThreads,
        Map<String, String> settings, String verdict) {

    /** The environment variables and system properties that choose the libtorch, as set now ("(unset)" when not). */
    public static Map<String, String> currentSettings() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : List.of("PYTORCH_LIBRARY_PATH", "PYTORCH_VERSION", "PYTORCH_FLAVOR", "PYTORCH_LIBRARY_EXCLUSION",
                "CUDA_VISIBLE_DEVICES", "ai.djl.offline", "ai.djl.pytorch.num_threads", "ai.djl.pytorch.num_interop_threads",
                Engines.THREADS_PROPERTY)) {
            String v = System.getenv(name);
            if (v == null) {
                v = System.getProperty(name);
            }
            out.put(name, v == null ? "(unset)" : v);
        }
        return out;
    }

    /** Starts the engine if needed (as every command does) and reports; never throws for an engine that does not start. */
    public static EngineReport collect() {
        Map<String, String> settings = currentSettings();
        Engine engine;
        try {
            engine = Engines.pytorch();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            String message = rootMessage(e);
            return new EngineReport(false, message, "", "", "", "", "", 0, List.of(), 0, 0, settings, failureVerdict(message, settings));
        }
        String path = LibUtils.getLibtorchPath();
        String flavour = flavour(path);
        int gpus = engine.getGpuCount();
        List<String> devices = new ArrayList<>();
        for (Device d : engine.getDevices()) {
            devices.add(d.toString());
        }
        if (devices.isEmpty()) {
            devices.add(Device.cpu().toString());
        }
        String source = !"(unset)".equals(settings.get("PYTORCH_LIBRARY_PATH")) ? "PYTORCH_LIBRARY_PATH"
                : path.contains(".djl.ai") ? "DJL's cache (~/.djl.ai: extracted from a pytorch-native jar on the class path, or downloaded)"
                : "other";
        String verdict;
        if (gpus > 0) {
            verdict = "GPU ready: libtorch " + LibUtils.getVersion() + " (" + flavour + ") sees " + gpus + " GPU(s); model.device = auto or gpu:N uses them";
        } else if (!flavour.startsWith("cu") && java.nio.file.Files.exists(java.nio.file.Path.of(path, "libtorch_cuda.so"))) {
            verdict = "CPU only: a CUDA libtorch folder (it has libtorch_cuda.so) is loaded as flavour " + flavour + ", with DJL's CPU JNI"
                    + " library, and sees no GPU; training runs on the CPU. On a GPU machine use PYTORCH_FLAVOR=cu128 (docs/gpu.md)";
        } else if (flavour.startsWith("cu")) {
            verdict = "CPU only: a CUDA libtorch (" + flavour + ") is loaded but sees no GPU (no NVIDIA driver or device here,"
                    + " or CUDA_VISIBLE_DEVICES hides them); training runs on the CPU. See docs/gpu.md";
        } else {
            verdict = "CPU only: the loaded libtorch is the " + flavour + " build, which cannot use a GPU; training runs on the CPU."
                    + " For a GPU, see docs/gpu.md";
        }
        return new EngineReport(true, "", engine.getVersion(), LibUtils.getVersion(), flavour, path, source, gpus, List.copyOf(devices),
                JniUtils.getNumThreads(), JniUtils.getNumInteropThreads(), settings, verdict);
    }

    /** One line for error messages. */
    public String summary() {
        if (!started) {
            return "the PyTorch engine did not start: " + failure;
        }
        return "engine PyTorch " + libtorchVersion + " (" + flavour + ") from " + libtorchPath + ", devices " + devices
                + "; PYTORCH_LIBRARY_PATH=" + settings.get("PYTORCH_LIBRARY_PATH") + ", PYTORCH_FLAVOR=" + settings.get("PYTORCH_FLAVOR");
    }

    /** The report as {@code key: value} lines. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add("engine:           PyTorch (DJL " + Engine.getDjlVersion() + ")" + (started ? "" : " - did not start"));
        if (started) {
            out.add("libtorch:         " + libtorchVersion + ", flavour " + flavour);
            out.add("libtorch path:    " + libtorchPath);
            out.add("loaded from:      " + source);
            out.add("devices:          " + String.join(", ", devices) + " (GPUs visible to libtorch: " + gpuCount + ")");
            out.add("threads:          intra-op " + intraOpThreads + ", inter-op " + interOpThreads + " (cores: "
                    + Runtime.getRuntime().availableProcessors() + ")");
        } else {
            out.add("failure:          " + failure);
        }
        settings.forEach((k, v) -> out.add(String.format(Locale.ROOT, "%-17s %s", k + ":", v)));
        out.add("java:             " + System.getProperty("java.version") + " (" + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ")");
        out.add("verdict:          " + verdict);
        return out;
    }

    /** The flavour DJL recorded for the loaded libtorch (cpu, cu128, ...), else read from the folder's name. */
    static String flavour(String libtorchPath) {
        try {
            Field f = LibUtils.class.getDeclaredField("libTorch");
            f.setAccessible(true);
            Object libTorch = f.get(null);
            if (libTorch != null) {
                Field flavor = libTorch.getClass().getDeclaredField("flavor");
                flavor.setAccessible(true);
                Object v = flavor.get(libTorch);
                if (v != null && !v.toString().isBlank()) {
                    return v.toString();
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // DJL's internals changed: fall back to the folder name
        }
        for (String part : Arrays.asList(libtorchPath.split("[-/\\\\]"))) {
            if (part.equals("cpu") || part.matches("cu\\d+")) {
                return part;
            }
        }
        return "unknown";
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        String message = String.valueOf(e.getMessage());
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
        }
        return message.replace('\n', ' ');
    }

    private static String failureVerdict(String message, Map<String, String> settings) {
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("libcuda.so")) {
            return "NOT WORKING: the libtorch in PYTORCH_LIBRARY_PATH=" + settings.get("PYTORCH_LIBRARY_PATH") + " is a CUDA build and this"
                    + " machine has no NVIDIA driver (libcuda.so.1). On a CPU machine unset PYTORCH_LIBRARY_PATH/PYTORCH_VERSION/PYTORCH_FLAVOR"
                    + " (the CPU libtorch on the class path is used); on a GPU machine install the driver. See docs/gpu.md";
        }
        if (m.contains("offline") || m.contains("download")) {
            return "NOT WORKING: DJL wanted to download a libtorch or its JNI library but runs offline (ai.djl.offline=true):"
                    + " put the natives on the class path, set PYTORCH_LIBRARY_PATH, or run once with -Dai.djl.offline=false on a"
                    + " connected machine. See docs/gpu.md";
        }
        return "NOT WORKING: the PyTorch engine did not start. See docs/gpu.md";
    }
}
