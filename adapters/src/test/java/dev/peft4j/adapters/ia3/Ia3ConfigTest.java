package dev.peft4j.adapters.ia3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.config.InvalidConfigException;
import org.junit.jupiter.api.Test;

class Ia3ConfigTest {
    static Config section(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods.ia3"));
    }

    @Test
    void defaultsArePeftsPerModelType() {
        Ia3Config c = Ia3Config.from(section(""));
        assertThat(c.targetModules()).isNull();
        assertThat(c.feedforwardModules()).isNull();
        assertThat(c.resolvedTargets("bert")).isEqualTo(ModulePatterns.names("key", "value", "output.dense"));
        assertThat(c.resolvedFeedforward("bert")).isEqualTo(ModulePatterns.names("output.dense"));
        assertThat(c.resolvedTargets("llama")).isEqualTo(ModulePatterns.names("k_proj", "v_proj", "down_proj"));
        assertThat(c.resolvedFeedforward("llama")).isEqualTo(ModulePatterns.names("down_proj"));
        assertThat(c.resolvedTargets("gpt2")).isEqualTo(ModulePatterns.names("c_attn", "mlp.c_proj"));
        assertThat(c.resolvedFeedforward("gpt2")).isEqualTo(ModulePatterns.names("mlp.c_proj"));
    }

    @Test
    void everyKeyIsRead() {
        Ia3Config c = Ia3Config.from(section("target-modules = [query, value, intermediate.dense], feedforward-modules = [intermediate.dense]"));
        assertThat(c.targetModules()).isEqualTo(ModulePatterns.names("query", "value", "intermediate.dense"));
        assertThat(c.feedforwardModules()).isEqualTo(ModulePatterns.names("intermediate.dense"));
        Ia3Config regex = Ia3Config.from(section("target-modules = \".*\\\\.(key|value)\", feedforward-modules = []"));
        assertThat(regex.targetModules()).isEqualTo(ModulePatterns.regex(".*\\.(key|value)"));
        assertThat(regex.feedforwardModules()).isEqualTo(ModulePatterns.none());
    }

    @Test
    void badInputNamesTheKey() {
        assertThatThrownBy(() -> Ia3Config.from(section("target-modules = [key], feedforward-modules = [output.dense]")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("feedforward-modules").hasMessageContaining("subset");
        assertThatThrownBy(() -> Ia3Config.from(section("target-modules = []"))).hasMessageContaining("target-modules");
        assertThatThrownBy(() -> Ia3Config.from(section("target-modules = \"(\""))).hasMessageContaining("target-modules");
        assertThatThrownBy(() -> Ia3Config.from(section("scale = 2"))).hasMessageContaining("unknown key");
        assertThatThrownBy(() -> Ia3Config.from(section("")).resolvedTargets(null)).hasMessageContaining("target-modules");
    }
}
