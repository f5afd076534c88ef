package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** reference.conf defaults, full key mapping, and bad input named by key. */
class LoraConfigTest {
    static Config section(String overrides) {
        Config reference = ConfigFactory.parseResources(LoraConfigTest.class.getClassLoader(), "reference.conf")
                .getConfig("peft4j.methods.lora");
        return ConfigFactory.parseString(overrides).withFallback(reference).resolve();
    }

    @Test
    void defaultsArePefts() {
        LoraConfig c = new LoraMethod().parseConfig(section(""));
        assertThat(c).isEqualTo(LoraConfig.builder().build());
        assertThat(c.r()).isEqualTo(8);
        assertThat(c.alpha()).isEqualTo(8);
        assertThat(c.dropout()).isZero();
        assertThat(c.targetModules()).isNull();
        assertThat(c.bias()).isEqualTo(LoraConfig.Bias.NONE);
        assertThat(c.init()).isEqualTo(LoraConfig.Init.KAIMING);
        assertThat(c.fanInFanOut()).isNull();
        assertThat(c.adapterName()).isEqualTo("default");
    }

    @Test
    void everyKeyMaps() {
        LoraConfig c = LoraConfig.from(section("""
                name = lora, adapter-name = a1, r = 16, alpha = 32, dropout = 0.05
                target-modules = [query, value], exclude-modules = ".*layer\\\\.0\\\\..*"
                layers-to-transform = [1, 2], layers-pattern = layer
                rank-pattern { "layer.1.attention.self.query" = 4 }, alpha-pattern { value = 64 }
                bias = lora_only, init = gaussian, use-rslora = true, use-dora = true
                modules-to-save = [classifier], fan-in-fan-out = true
                """));
        assertThat(c).isEqualTo(LoraConfig.builder().adapterName("a1").r(16).alpha(32).dropout(0.05).targetModules("query", "value")
                .excludeModules(LoraConfig.ModuleSelector.regex(".*layer\\.0\\..*")).layersToTransform(List.of(1, 2))
                .layersPattern(List.of("layer")).rankPattern(Map.of("layer.1.attention.self.query", 4)).alphaPattern(Map.of("value", 64.0))
                .bias(LoraConfig.Bias.LORA_ONLY).init(LoraConfig.Init.GAUSSIAN).useRslora(true).useDora(true)
                .modulesToSave(List.of("classifier")).fanInFanOut(true).build());
        assertThat(LoraConfig.from(section("target-modules = all-linear, layers-to-transform = 3")).targetModules().isAllLinear()).isTrue();
        assertThat(LoraConfig.from(section("layers-to-transform = 3")).layersToTransform()).containsExactly(3);
    }

    @Test
    void badValuesAreAllReportedByKey() {
        assertThatThrownBy(() -> LoraConfig.from(section("r = 0, alpha = 0, dropout = 1.0, bias = some, init = xavier, dropuot = 3")))
                .isInstanceOfSatisfying(InvalidConfigException.class, e -> {
                    assertThat(e.problems()).extracting(ConfigProblem::key)
                            .containsExactlyInAnyOrder("r", "alpha", "dropout", "bias", "init", "dropuot");
                    assertThat(e.getMessage()).contains("r: is 0").contains("dropout: is 1").contains("[0, 1)")
                            .contains("'some', expected one of [none, all, lora_only]").contains("alpha: is 0, expected a number in (0, Infinity)").contains("did you mean 'dropout'");
                });
        assertThatThrownBy(() -> LoraConfig.from(section("r = -3"))).isInstanceOf(InvalidConfigException.class).hasMessageContaining("r: is -3");
        assertThatThrownBy(() -> LoraConfig.from(section("dropout = -0.1"))).hasMessageContaining("dropout: is -0.1");
        assertThatThrownBy(() -> LoraConfig.from(section("target-modules = \"(query\""))).hasMessageContaining("target-modules")
                .hasMessageContaining("not a valid regular expression");
        assertThatThrownBy(() -> LoraConfig.from(section("rank-pattern { query = 0 }"))).hasMessageContaining("rank-pattern")
                .hasMessageContaining("positive integer");
        assertThatThrownBy(() -> LoraConfig.from(section("fan-in-fan-out = maybe"))).hasMessageContaining("fan-in-fan-out");
    }

    @Test
    void programmaticConfigsAreValidatedToo() {
        assertThatThrownBy(() -> LoraConfig.builder().r(0).build()).hasMessageContaining("r is 0");
        assertThatThrownBy(() -> LoraConfig.builder().alpha(-1).build()).hasMessageContaining("alpha is -1");
        assertThatThrownBy(() -> LoraConfig.builder().dropout(1).build()).hasMessageContaining("dropout is 1");
        assertThatThrownBy(() -> LoraConfig.Bias.fromPeft("lora")).hasMessageContaining("bias is 'lora'");
    }
}
