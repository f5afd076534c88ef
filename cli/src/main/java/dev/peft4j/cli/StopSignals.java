package dev.peft4j.cli;

import dev.peft4j.runtime.Interruption;
import java.io.PrintStream;
import sun.misc.Signal;

/**
 * SIGINT and SIGTERM for the command line: the first asks the work to stop at its next safe point
 * ({@link Interruption}), so the JVM never exits while the main thread is inside libtorch (that exit
 * runs libtorch's static destructors under the running call: SIGSEGV in backward, issue #16). The
 * main thread then exits with 130 or 143. A second signal exits at once, with the old risk, for a user
 * who would rather lose the step than wait for it.
 */
final class StopSignals {
    private StopSignals() {}

    static void install(PrintStream err) {
        for (String name : new String[] {"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), signal -> onSignal(signal.getName(), err));
            } catch (IllegalArgumentException e) {
                // the signal is not available here (or reserved by the JVM, e.g. with -Xrs): keep the default
            }
        }
    }

    static void onSignal(String name, PrintStream err) {
        if (Interruption.request(name)) {
            err.println();
            err.println("peft4j: SIG" + name + " received: stopping at the next safe point (after the current step); send it again to exit at once");
            err.flush();
        } else {
            err.println("peft4j: second signal: exiting now");
            err.flush();
            Runtime.getRuntime().halt(Interruption.exitCode());
        }
    }
}
