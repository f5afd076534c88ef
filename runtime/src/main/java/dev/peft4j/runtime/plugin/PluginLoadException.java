package dev.peft4j.runtime.plugin;

import dev.peft4j.api.Peft4jException;
import java.util.List;

/** Every problem found while discovering plugins (broken jars, duplicates, SPI versions), reported together. */
public final class PluginLoadException extends Peft4jException {
    private static final long serialVersionUID = 1L;
    private final List<String> problems;

    public PluginLoadException(List<String> problems, Throwable cause) {
        super(format(problems), cause);
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }

    private static String format(List<String> problems) {
        if (problems.size() == 1) {
            return "plugin error: " + problems.get(0);
        }
        StringBuilder sb = new StringBuilder(problems.size() + " plugin errors:");
        problems.forEach(p -> sb.append("\n  - ").append(p));
        return sb.toString();
    }
}
