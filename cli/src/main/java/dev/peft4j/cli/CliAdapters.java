package dev.peft4j.cli;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.lora.LoraModel;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.AdapterFiles;
import dev.peft4j.runtime.train.TaskSetup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --adapter [NAME=]DIR} (repeatable) on predict, encode and eval: PEFT adapter directories (HF PEFT or peft4j)
 * loaded onto one already loaded base. LoRA adapters are kept side by side under their names and switched per input
 * line ({@code "adapter": "NAME"} in a JSON line) without reloading anything; another method takes one adapter.
 */
final class CliAdapters {
    /** The name of an adapter given without {@code NAME=}. */
    static final String UNNAMED = "adapter";

    private final Map<String, Path> directories;
    private LoraModel lora;
    private Adaptation single;
    private String active;

    private CliAdapters(Map<String, Path> directories) {
        this.directories = directories;
    }

    /** Parses the option values; names must be unique and only one adapter may be unnamed. */
    static CliAdapters parse(List<String> specs) {
        Map<String, Path> out = new LinkedHashMap<>();
        for (String spec : specs == null ? List.<String>of() : specs) {
            int eq = spec.indexOf('=');
            // a Windows path or a directory with '=' in it: only a plain word before '=' is a name
            boolean named = eq > 0 && spec.substring(0, eq).matches("[A-Za-z0-9_.-]+") && !spec.substring(0, eq).contains("/");
            String name = named ? spec.substring(0, eq) : UNNAMED;
            Path dir = Path.of(named ? spec.substring(eq + 1) : spec);
            if (out.put(name, dir) != null) {
                throw new Peft4jException("--adapter: the name '" + name + "' is given twice"
                        + (name.equals(UNNAMED) ? "; give several adapters as NAME=DIR" : ""));
            }
        }
        return new CliAdapters(out);
    }

    boolean isEmpty() {
        return directories.isEmpty();
    }

    /** The names, in the order given; the first is the default for lines that name none. */
    List<String> names() {
        List<String> names = new ArrayList<>(directories.keySet());
        if (lora != null) {
            lora.adapterNames().stream().filter(n -> !names.contains(n)).forEach(names::add);
        }
        return names;
    }

    String defaultName() {
        return directories.keySet().iterator().next();
    }

    /** Loads every adapter onto a bare model (encode). */
    CliAdapters loadOnto(TransformerModel model) {
        for (Map.Entry<String, Path> e : directories.entrySet()) {
            if (lora == null && single == null) {
                Adaptation first = AdapterFiles.load(model, model.module(), e.getValue(), e.getKey());
                if (first instanceof LoraModel l) {
                    lora = l;
                } else {
                    single = first;
                }
            } else {
                addLora(e.getKey(), e.getValue());
            }
        }
        activate(defaultName());
        return this;
    }

    /**
     * Loads every adapter onto a restored run: beside the run's own adapter when it is LoRA (the run's adapter keeps its
     * name, e.g. {@code default}, and can be chosen per line too); for another method one adapter of the run's type
     * replaces the run's trained weights (names and shapes checked first).
     */
    CliAdapters loadOnto(TaskSetup setup) {
        Adaptation run = setup.adaptation();
        if (run instanceof LoraModel l) {
            lora = l;
            directories.forEach(this::addLora);
        } else {
            if (directories.size() > 1) {
                throw new Peft4jException("--adapter: the run's method is " + run.method() + "; several adapters side by side need a LoRA run");
            }
            Path dir = directories.values().iterator().next();
            String type = AdapterFiles.peftType(dir);
            try {
                run.load(dir, new SafetensorsTensorFiles());
            } catch (Peft4jException | UnsupportedOperationException e) {
                throw new Peft4jException("--adapter " + dir + " (" + type + ") cannot replace the run's " + run.method() + " weights: " + e.getMessage(), e);
            }
            single = run;
        }
        activate(defaultName());
        return this;
    }

    private void addLora(String name, Path dir) {
        if (lora == null) {
            throw new Peft4jException("--adapter " + name + "=" + dir + ": the first adapter is " + single.method()
                    + "; only LoRA adapters can be loaded side by side");
        }
        if (!"LORA".equals(AdapterFiles.peftType(dir))) {
            throw new Peft4jException("--adapter " + name + "=" + dir + ": peft_type " + AdapterFiles.peftType(dir)
                    + "; only LoRA adapters can be loaded side by side");
        }
        if (lora.adapterNames().contains(name)) {
            throw new Peft4jException("--adapter " + name + "=" + dir + ": the run's own adapter is named '" + name + "'; choose another name");
        }
        lora.loadAdapter(dir, new SafetensorsTensorFiles(), name);
    }

    /** Makes {@code name} the adapter of the next forward passes ({@code origin} names the input line in errors). */
    void activate(String name, String origin) {
        if (name.equals(active)) {
            return;
        }
        if (lora != null && lora.adapterNames().contains(name)) {
            lora.setActiveAdapter(name);
        } else if (!(single != null && directories.containsKey(name))) {
            throw new Peft4jException((origin == null ? "" : origin + ": ") + "no adapter named '" + name + "'; loaded: " + names());
        }
        active = name;
    }

    void activate(String name) {
        activate(name, null);
    }
}
