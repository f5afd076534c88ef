package dev.peft4j.runtime.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.lang.reflect.Field;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records every NDArray that DJL's PyTorch engine creates on this thread while an action runs, and
 * where it was created: the device of the manager it is attached to, and the device torch reports for
 * the tensor.
 *
 * <p>How: every {@code PtNDArray} constructor calls {@link NDScope#register}, which puts the array in
 * the innermost open scope's map. The audit installs its own scope stack on the thread, opens an
 * outermost scope whose map records without keeping (so the audit frees nothing), and gives every
 * scope opened inside the action (AdamW's, LoRA's merge, ...) a map that records and keeps (so those
 * scopes still free what they own). An array is checked when it is registered, while it is alive.
 *
 * <p>The test runs the model on {@code cpu:0}, a second name for the CPU: torch accepts it, and DJL
 * compares devices by name, so an array on a manager made from the default device or from a hard-coded
 * {@code Device.cpu()} is reported, though on this machine it would compute the same. (Devices are
 * compared by type and index: DJL's {@code Device.equals} calls every CPU equal.) With
 * {@code -Dpeft4j.test.device=gpu:0} (tools/gpu-check.sh) the same test checks a real GPU.
 */
public final class DeviceAudit {
    /** One array: the device of its manager and the device of the tensor itself, and where it was made. */
    public record Placement(Device managerDevice, Device tensorDevice, String dataType, String shape, String createdAt) {}

    private static final Field SCOPE_STACK;
    private static final Field RESOURCES;

    static {
        try {
            SCOPE_STACK = NDScope.class.getDeclaredField("SCOPE_STACK");
            SCOPE_STACK.setAccessible(true);
            RESOURCES = NDScope.class.getDeclaredField("resources");
            RESOURCES.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("DJL's NDScope changed (expected SCOPE_STACK and resources fields): " + e, e);
        }
    }

    private final Device expected;
    private final List<Placement> misplaced = new ArrayList<>();
    private final Map<String, Integer> arraysByDevice = new LinkedHashMap<>();
    private long arrays;

    private DeviceAudit(Device expected) {
        this.expected = expected;
    }

    /** Runs {@code action} on this thread and returns what it created off {@code expected}. */
    public static DeviceAudit run(Device expected, ThrowingRunnable action) throws Exception {
        DeviceAudit audit = new DeviceAudit(expected);
        @SuppressWarnings("unchecked")
        ThreadLocal<Deque<NDScope>> stack = (ThreadLocal<Deque<NDScope>>) SCOPE_STACK.get(null);
        Deque<NDScope> previous = stack.get();
        if (!previous.isEmpty()) {
            throw new IllegalStateException("DeviceAudit must run outside any NDScope");
        }
        stack.set(audit.new RecordingStack());
        try {
            NDScope outer = new NDScope(); // its map was replaced by addLast: it records but keeps nothing
            try {
                action.run();
            } finally {
                outer.close();
            }
        } finally {
            stack.set(previous);
        }
        return audit;
    }

    /** Like {@link Runnable}, for actions that throw checked exceptions. */
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** How many arrays the action created. */
    public long arrays() {
        return arrays;
    }

    /** Arrays counted by "manager device / tensor device". */
    public Map<String, Integer> arraysByDevice() {
        return Map.copyOf(arraysByDevice);
    }

    /**
     * The arrays not on the expected device, with where peft4j code created them: the manager's device
     * must equal it, the tensor's device must be of its kind.
     */
    public List<Placement> misplaced() {
        return List.copyOf(misplaced);
    }

    /** Type and index equal. ({@code Device.equals} calls every CPU equal, whatever its index.) */
    static boolean sameName(Device a, Device b) {
        return a.getDeviceType().equals(b.getDeviceType()) && a.getDeviceId() == b.getDeviceId();
    }

    /**
     * torch reports a CPU tensor as {@code cpu} whatever index it was created with; any other device
     * (cuda:N) must match exactly.
     */
    static boolean sameDevice(Device tensor, Device expected) {
        if (expected.getDeviceType().equals(Device.Type.CPU)) {
            return tensor.getDeviceType().equals(Device.Type.CPU);
        }
        return tensor.equals(expected);
    }

    private void record(NDArray array) {
        arrays++;
        Device managerDevice = array.getManager().getDevice();
        Device tensorDevice = array.getDevice();
        arraysByDevice.merge(managerDevice.getDeviceType() + ":" + managerDevice.getDeviceId() + " / " + tensorDevice, 1, Integer::sum);
        if (sameName(managerDevice, expected) && sameDevice(tensorDevice, expected)) {
            return;
        }
        StackTraceElement site = null;
        for (StackTraceElement e : Thread.currentThread().getStackTrace()) {
            if (e.getClassName().startsWith("dev.peft4j.") && !e.getClassName().startsWith(DeviceAudit.class.getName())) {
                site = e;
                break;
            }
        }
        String at = site == null ? "(outside peft4j)" : site.getClassName() + "." + site.getMethodName() + ":" + site.getLineNumber();
        misplaced.add(new Placement(managerDevice, tensorDevice, array.getDataType().toString(), array.getShape().toString(), at));
    }

    /** The audit's scope stack: gives each scope pushed on it a recording map. */
    private final class RecordingStack extends ArrayDeque<NDScope> {
        private static final long serialVersionUID = 1L;

        @Override
        public void addLast(NDScope scope) {
            try {
                RESOURCES.set(scope, new RecordingMap(!isEmpty()));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
            super.addLast(scope);
        }
    }

    /** A scope's map that records each array registered in it; {@code keep = false} for the audit's own scope. */
    private final class RecordingMap extends IdentityHashMap<NDArray, NDArray> {
        private static final long serialVersionUID = 1L;
        private final boolean keep;

        RecordingMap(boolean keep) {
            this.keep = keep;
        }

        @Override
        public NDArray put(NDArray key, NDArray value) {
            record(key);
            return keep ? super.put(key, value) : null;
        }
    }
}
