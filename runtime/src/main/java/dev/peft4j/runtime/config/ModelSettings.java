package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.config.ConfigReader;
import java.util.regex.Pattern;

/**
 * The {@code model} section.
 *
 * @param source an HF model directory or {@code maven:GROUP:ARTIFACT:VERSION}
 * @param device {@code auto}, {@code cpu}, {@code gpu} or {@code gpu:N}
 * @param maxLength the longest token sequence, in [1, 1048576]
 * @param init {@code pretrained} (the source's weights) or {@code random} (the source's architecture,
 *     freshly initialised: the from-scratch baseline)
 * @param initSeed the seed of the random initialisation
 * @param keepLayers the checkpoint's layers the model is made of, renumbered 0.. (DistilBERT's student
 *     initialisation); empty: all of them
 */
public record ModelSettings(String source, String device, int maxLength, String init, long initSeed, java.util.List<Integer> keepLayers) {
    /** The values of {@code model.init}. */
    public static final java.util.List<String> INITS = java.util.List.of("pretrained", "random");

    private static final Pattern DEVICE = Pattern.compile("auto|cpu|gpu(:\\d+)?");

    public ModelSettings {
        requireNonNull(source, "source is null");
        requireNonNull(device, "device is null");
        requireNonNull(init, "init is null");
        keepLayers = java.util.List.copyOf(requireNonNull(keepLayers, "keepLayers is null"));
    }

    public ModelSettings(String source, String device, int maxLength, String init, long initSeed) {
        this(source, device, maxLength, init, initSeed, java.util.List.of());
    }

    /** Pretrained weights from {@code source}, seed 42. */
    public ModelSettings(String source, String device, int maxLength) {
        this(source, device, maxLength, "pretrained", 42);
    }

    public boolean randomInit() {
        return init.equals("random");
    }

    /** The {@link SettingsSection} of {@code model}. */
    public static final SettingsSection<ModelSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "model";
        }

        @Override
        public Class<ModelSettings> type() {
            return ModelSettings.class;
        }

        @Override
        public ModelSettings read(ConfigReader r) {
            String source = r.optionalString("source").orElse("");
            if (source.isEmpty() && r.problems().stream().noneMatch(p -> p.key().equals(r.fullKey("source")))) {
                r.problem("source", "is not set, expected an HF model directory or maven:GROUP:ARTIFACT:VERSION");
            }
            String device = r.string("device");
            if (!r.problems().stream().anyMatch(p -> p.key().equals(r.fullKey("device"))) && !DEVICE.matcher(device).matches()) {
                r.problem("device", "is '" + device + "', expected auto, cpu, gpu or gpu:N");
            }
            int maxLength = r.intValue("max-length", 1, 1 << 20);
            int parts = source.split(":", -1).length;
            if (source.startsWith("maven:") && parts != 4 && parts != 5) {
                r.problem("source", "is '" + source + "', expected maven:GROUP:ARTIFACT:VERSION[:CLASSIFIER] or an HF model directory");
            }
            String init = r.oneOf("init", INITS);
            long initSeed = r.longValue("init-seed", Long.MIN_VALUE, Long.MAX_VALUE);
            java.util.List<Integer> keepLayers = r.intList("keep-layers");
            if (!keepLayers.isEmpty()) {
                // the range is checked against the checkpoint when it is loaded (LayerSubset.check), still before training
                java.util.List<String> problems = dev.peft4j.models.LayerSubset.checkOrder(keepLayers);
                if (!problems.isEmpty()) {
                    r.problem("keep-layers", "is " + keepLayers + ": it " + String.join("; it ", problems));
                }
            }
            return new ModelSettings(source, device, maxLength, init == null ? "pretrained" : init, initSeed, keepLayers);
        }
    };
}
