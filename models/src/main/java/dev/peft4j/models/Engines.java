package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import dev.peft4j.api.Peft4jException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts DJL's PyTorch engine the way peft4j needs it (offline, thread counts set before start-up)
 * and turns the device setting ({@code auto}, {@code cpu}, {@code gpu:N}) into a DJL {@link Device}.
 */
public final class Engines {
    /** System property: PyTorch intra-op and inter-op thread count, applied at engine start-up. */
    public static final String THREADS_PROPERTY = "peft4j.threads";

    private static final Pattern GPU = Pattern.compile("gpu:(\\d{1,4})");

    private Engines() {}

    /**
     * The PyTorch engine, started offline ({@code ai.djl.offline=true} unless the user set it) with
     * {@code ai.djl.pytorch.num_threads} from {@code peft4j.threads} when given. These properties
     * are read once at engine start-up; if the engine is already running, the intra-op thread count
     * is applied directly.
     */
    public static synchronized Engine pytorch() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        String threads = System.getProperty(THREADS_PROPERTY);
        int n = 0;
        if (threads != null && !threads.isBlank()) {
            try {
                n = Integer.parseInt(threads.trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1) {
                throw new Peft4jException("system property " + THREADS_PROPERTY + " is \"" + threads
                        + "\", expected a positive integer");
            }
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(n));
            System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(n));
        }
        Engine engine;
        try {
            engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException e) {
            throw new Peft4jException("cannot start DJL's PyTorch engine (ai.djl.offline="
                    + System.getProperty("ai.djl.offline") + "): " + e.getMessage(), e);
        }
        if (n > 0 && JniUtils.getNumThreads() != n) {
            // The engine was started earlier: the property came too late, set the intra-op pool directly.
            // (The inter-op pool cannot change once parallel work has run.)
            JniUtils.setNumThreads(n);
        }
        return engine;
    }

    /**
     * Turns torch's autograd recording off on the calling thread, as DJL does on the thread that starts the engine.
     * Torch's grad mode is per thread and on by default, so work on any other thread (a Spark task, a pool) would
     * record graphs for inference and refuse the in-place copies that restore trained tensors ("a leaf Variable that
     * requires grad is being used in an in-place operation"). Training turns it on again inside its gradient
     * collector. Call it at the start of work on a thread peft4j did not start.
     */
    public static void noGradOnThisThread() {
        pytorch();
        JniUtils.setGradMode(false);
    }

    /** Runs {@code work} with autograd recording off on this thread, restoring the thread's previous mode after. */
    public static void withoutGrad(Runnable work) {
        requireNonNull(work, "work is null");
        pytorch();
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            work.run();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }

    /**
     * Parses a device setting: {@code auto} (GPU 0 when the engine sees a GPU, else CPU),
     * {@code cpu}, {@code gpu} (GPU 0) or {@code gpu:N}. A GPU that libtorch does not see is an error
     * that says what the engine found and points at docs/gpu.md.
     */
    public static Device device(String setting) {
        requireNonNull(setting, "setting is null");
        String s = setting.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.equals("auto")) {
            return pytorch().getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
        }
        Matcher m = GPU.matcher(s.equals("gpu") ? "gpu:0" : s);
        if (m.matches()) {
            int index = Integer.parseInt(m.group(1));
            int count = pytorch().getGpuCount();
            if (index >= count) {
                throw new Peft4jException("device \"" + setting + "\": the engine sees " + count + " GPU(s)"
                        + (count == 0 ? "; use \"cpu\" or \"auto\", or load a CUDA libtorch on a machine with an NVIDIA GPU and driver"
                                + " (docs/gpu.md; peft4j doctor shows what is found). Found: " + EngineReport.collect().summary()
                                : ", valid are gpu:0 to gpu:" + (count - 1)));
            }
            return Device.gpu(index);
        }
        throw new Peft4jException("device \"" + setting + "\" is not valid; expected auto, cpu, gpu or gpu:N (N = 0, 1, ...)");
    }
}
