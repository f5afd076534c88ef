package dev.peft4j.cli;

import dev.peft4j.runtime.Peft4j;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What train, eval and predict share: the host with an optional plugin directory, and {@code peft4j.data}. */
final class RunCommands {
    private RunCommands() {}

    static Peft4j host(Path plugins) {
        Peft4j.Builder builder = Peft4j.builder();
        if (plugins != null) {
            builder.pluginDir(plugins);
        }
        return builder.build();
    }

    /** {@code -Dpeft4j.data} (if set) as the first override, so that {@code ${peft4j.data}} in configs finds it. */
    static String[] overrides(List<String> userOverrides) {
        List<String> all = new ArrayList<>();
        String data = System.getProperty("peft4j.data");
        if (data != null && !data.isBlank()) {
            all.add("peft4j.data=\"" + data.replace("\\", "\\\\").replace("\"", "\\\"") + "\"");
        }
        if (userOverrides != null) {
            all.addAll(userOverrides);
        }
        return all.toArray(String[]::new);
    }
}
