package dev.peft4j.distillation;

import com.typesafe.config.Config;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.SpiVersion;
import java.util.List;

/**
 * The built-in distillation objectives, registered through ServiceLoader like any plugin; defaults in
 * {@code reference.conf} under {@code peft4j.objectives.<name>}.
 */
public final class DistillationPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-distillation";
    }

    @Override
    public List<ObjectiveFactory<?>> objectives() {
        return List.of(new SoftTargetKl(), new HiddenState(), new TokenKl(), new Attention());
    }

    static final class SoftTargetKl implements ObjectiveFactory<SoftTargetConfig> {
        @Override
        public String name() {
            return "soft-target-kl";
        }

        @Override
        public String description() {
            return "alpha * T^2 * KL(teacher_T || student_T) on the head's logits + (1 - alpha) * task loss (Hinton; DistilBERT)";
        }

        @Override
        public SoftTargetConfig parseConfig(Config section) {
            return SoftTargetConfig.parse(section);
        }

        @Override
        public Objective create(SoftTargetConfig config, PluginContext context) {
            return new SoftTargetKlObjective(config);
        }
    }

    static final class HiddenState implements ObjectiveFactory<HiddenStateConfig> {
        @Override
        public String name() {
            return "hidden-state";
        }

        @Override
        public String description() {
            return "MSE or cosine between mapped student and teacher hidden states over real tokens, learned projection when sizes differ";
        }

        @Override
        public HiddenStateConfig parseConfig(Config section) {
            return HiddenStateConfig.parse(section);
        }

        @Override
        public Objective create(HiddenStateConfig config, PluginContext context) {
            return HiddenStateObjective.create(config, context);
        }
    }

    static final class TokenKl implements ObjectiveFactory<TokenKlConfig> {
        @Override
        public String name() {
            return "token-kl";
        }

        @Override
        public String description() {
            return "causal LM: alpha * T^2 * per-token KL(teacher_T || student_T), -100 positions ignored, + (1 - alpha) * task loss";
        }

        @Override
        public TokenKlConfig parseConfig(Config section) {
            return TokenKlConfig.parse(section);
        }

        @Override
        public Objective create(TokenKlConfig config, PluginContext context) {
            return new TokenKlObjective(config);
        }
    }

    static final class Attention implements ObjectiveFactory<AttentionConfig> {
        @Override
        public String name() {
            return "attention";
        }

        @Override
        public String description() {
            return "attention transfer: KL (MiniLM) or MSE (TinyBERT) between mapped student and teacher attention maps over real tokens";
        }

        @Override
        public AttentionConfig parseConfig(Config section) {
            return AttentionConfig.parse(section);
        }

        @Override
        public Objective create(AttentionConfig config, PluginContext context) {
            return AttentionObjective.create(config, context);
        }
    }
}
