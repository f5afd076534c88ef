package dev.peft4j.runtime;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A request to stop (Ctrl-C, SIGTERM), honoured cooperatively by the thread doing the work.
 *
 * <p>Why not let the JVM exit on the signal: its exit runs libtorch's static destructors
 * (the device-hooks registry among them) while the main thread may still be inside a native
 * call. {@code torch::autograd::backward} then calls through a destroyed registry and the JVM
 * dies with SIGSEGV in {@code at::accelerator::getAccelerator} (issue #16; 3 of 6 signals
 * measured). So the command line replaces the default SIGINT/SIGTERM handling by a call to
 * {@link #request}; the training loop, the evaluator and the streaming commands poll
 * {@link #requested()} between steps or batches, stop there (the trainer saves its checkpoint
 * first), and the main thread exits with {@link #exitCode()} once no native call is running.
 *
 * <p>Library users who want the same behaviour call {@link #request} from their own handler.
 */
public final class Interruption {
    private static final AtomicReference<String> SIGNAL = new AtomicReference<>();
    private static final ThreadLocal<int[]> DEFERRED = ThreadLocal.withInitial(() -> new int[1]);

    private Interruption() {}

    /**
     * Asks the running work to stop at its next safe point.
     *
     * @param signal the signal's name without {@code SIG} ({@code INT}, {@code TERM}), or any reason
     * @return false if a stop had already been requested
     */
    public static boolean request(String signal) {
        return SIGNAL.compareAndSet(null, signal == null ? "REQUEST" : signal);
    }

    public static boolean requested() {
        return SIGNAL.get() != null;
    }

    /** The signal that asked to stop, if any. */
    public static Optional<String> signal() {
        return Optional.ofNullable(SIGNAL.get());
    }

    /** The shell's exit status for the request: 130 for INT, 143 for TERM, 129 for HUP, 1 otherwise. */
    public static int exitCode() {
        String s = SIGNAL.get();
        if (s == null) {
            return 0;
        }
        return switch (s) {
            case "INT" -> 130;
            case "TERM" -> 143;
            case "HUP" -> 129;
            default -> 1;
        };
    }

    /** Forgets a request (a new command in the same JVM, tests). */
    public static void clear() {
        SIGNAL.set(null);
    }

    /**
     * Throws {@link RunInterruptedException} if a stop was requested, unless the calling thread is inside
     * {@link #deferring}. For loops that can be abandoned anywhere between batches (evaluation, predict).
     */
    public static void throwIfRequested(String what) {
        if (requested() && DEFERRED.get()[0] == 0) {
            throw new RunInterruptedException(what + " interrupted by SIG" + SIGNAL.get(), exitCode());
        }
    }

    /**
     * Runs {@code work} with {@link #throwIfRequested} disabled on this thread: the trainer lets an evaluation
     * finish, so that the step it belongs to is complete and the checkpoint after it is exact.
     */
    public static <T> T deferring(Supplier<T> work) {
        int[] depth = DEFERRED.get();
        depth[0]++;
        try {
            return work.get();
        } finally {
            depth[0]--;
        }
    }
}
