package dev.peft4j.runtime.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress on stderr: on an interactive terminal a bar redrawn in place (step, ETA, examples/s, loss);
 * in CI or when stderr is not a terminal, one plain line every {@code logEvery} steps.
 */
public final class Progress {
    private final PrintStream out;
    private final boolean interactive;
    private final long total;
    private long lastDraw;

    public Progress(PrintStream out, long total) {
        this(out, total, System.console() != null && System.getenv("CI") == null && !"dumb".equals(System.getenv("TERM")));
    }

    public Progress(PrintStream out, long total, boolean interactive) {
        this.out = out;
        this.total = total;
        this.interactive = interactive;
    }

    public void update(long step, int epoch, double loss, double examplesPerSecond, double elapsedSeconds, boolean logLine) {
        double eta = step > 0 ? elapsedSeconds / step * (total - step) : Double.NaN;
        String text = String.format(Locale.ROOT, "step %d/%d epoch %d loss %.4f %.1f ex/s elapsed %s ETA %s", step, total, epoch + 1, loss,
                examplesPerSecond, duration(elapsedSeconds), duration(eta));
        if (interactive) {
            long now = System.nanoTime();
            if (now - lastDraw > 100_000_000L || step == total) {
                int width = 24;
                int filled = (int) Math.min(width, total == 0 ? width : width * step / total);
                out.print("\r[" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + text + "   ");
                out.flush();
                lastDraw = now;
            }
        } else if (logLine) {
            out.println(text);
        }
    }

    public void message(String line) {
        if (interactive) {
            out.print("\r\033[K");
        }
        out.println(line);
    }

    public void finish() {
        if (interactive) {
            out.println();
        }
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
