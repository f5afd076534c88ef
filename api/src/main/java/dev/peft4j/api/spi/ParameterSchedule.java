package dev.peft4j.api.spi;

import static java.util.Objects.requireNonNull;

/**
 * How the trainer treats a method's trainable parameters beyond "every one at the base learning rate from
 * the first step": each parameter belongs to a {@link Group} with a learning-rate scale (discriminative
 * learning rates, layer-wise decay) and an unfreezing stage (gradual unfreezing, ULMFiT). Stage 0 trains
 * from the first update; stage {@code k} from update {@code k * unfreezeEvery()} (counted in updates or in
 * epochs, {@link #unfreezeUnit()}). A parameter in a later stage receives no gradient and no update (no
 * weight decay either) before its stage starts; its optimizer moments and step count start then, as in
 * PyTorch, where a parameter without a gradient is skipped.
 *
 * <p>The host asks {@link Adaptation#parameterSchedule()} once, after the head is made trainable, and
 * calls {@link #groupOf} for every trainable parameter (the head's and the objectives' included).
 */
public interface ParameterSchedule {
    /** What a parameter is updated with: {@code name} is for logs and checkpoints ({@code layer 3}, {@code embeddings}). */
    record Group(String name, double learningRateScale, int unfreezeStage) {
        public Group {
            requireNonNull(name, "name is null");
            if (!(learningRateScale > 0) || Double.isInfinite(learningRateScale)) {
                throw new IllegalArgumentException("group " + name + ": learning-rate scale must be a finite number > 0, got " + learningRateScale);
            }
            if (unfreezeStage < 0) {
                throw new IllegalArgumentException("group " + name + ": unfreeze stage must be >= 0, got " + unfreezeStage);
            }
        }
    }

    /** The unit of {@link #unfreezeEvery()}. */
    enum Unit {
        STEPS,
        EPOCHS
    }

    /** The group of everything a schedule does not name: base learning rate, trains from the first update. */
    Group DEFAULT = new Group("default", 1.0, 0);

    /** The group of the trainable parameter {@code parameterName} (its full name under the task model's root). */
    Group groupOf(String parameterName);

    /** Updates (or epochs) between two unfreezing stages; 0: no gradual unfreezing (every stage must then be 0). */
    default int unfreezeEvery() {
        return 0;
    }

    default Unit unfreezeUnit() {
        return Unit.STEPS;
    }

    /** The setting behind {@link #unfreezeEvery()}, for error messages ({@code method.unfreeze-every = 2 (epochs)}). */
    default String unfreezeSetting() {
        return "unfreeze-every = " + unfreezeEvery() + " (" + unfreezeUnit().name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    /** Every parameter in {@link #DEFAULT}. */
    static ParameterSchedule none() {
        return name -> DEFAULT;
    }
}
