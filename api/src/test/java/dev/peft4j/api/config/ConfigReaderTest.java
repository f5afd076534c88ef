package dev.peft4j.api.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigReaderTest {
    private static Config parse(String text) {
        return ConfigFactory.parseString(text, ConfigParseOptions.defaults().setOriginDescription("test.conf"));
    }

    @Test
    void readsTypedValuesAndFinishesCleanly() {
        ConfigReader r = new ConfigReader(parse("r = 8\nalpha = 16.5\nbias = none\nmods = [query, value]\nuse = true\nids = [1, 2]\n"
                + "seed = 12345678901"), "method");
        assertThat(r.intValue("r", 1, 64)).isEqualTo(8);
        assertThat(r.doubleValue("alpha", 0, false, 100, true)).isEqualTo(16.5);
        assertThat(r.oneOf("bias", List.of("none", "all"))).isEqualTo("none");
        assertThat(r.stringList("mods")).containsExactly("query", "value");
        assertThat(r.bool("use")).isTrue();
        assertThat(r.intList("ids")).containsExactly(1, 2);
        assertThat(r.longValue("seed", 0, Long.MAX_VALUE)).isEqualTo(12345678901L);
        assertThat(r.problems()).isEmpty();
        r.finish();
    }

    @Test
    void aFractionForAnIntegerKeyIsAProblemNotATruncation() {
        ConfigReader r = new ConfigReader(parse("epochs = 1.5\nsteps = 2.0\nseed = 7.25"), "train");
        assertThat(r.intValue("epochs", 1, 100)).isEqualTo(1);
        assertThat(r.intValue("steps", 1, 100)).isEqualTo(2); // 2.0 is an integer
        r.longValue("seed", 0, Long.MAX_VALUE);
        assertThat(r.problems()).extracting(ConfigProblem::key).containsExactly("train.epochs", "train.seed");
        assertThat(r.problems().get(0).message()).isEqualTo("is 1.5, expected an integer");
    }

    @Test
    void collectsEveryProblemWithKeyLineAndDidYouMean() {
        Config c = parse("""
                r = 0
                alpha = sixteen
                bias = nonne
                dropuot = 0.1
                dropout = 1.0
                """);
        ConfigReader r = new ConfigReader(c, "method");
        r.intValue("r", 1, 64);
        r.doubleValue("alpha", 0, false, 1000, true);
        r.oneOf("bias", List.of("none", "all", "lora_only"));
        r.doubleValue("dropout", 0, true, 1, false);
        r.stringList("target-modules");
        assertThatThrownBy(r::finish).isInstanceOfSatisfying(InvalidConfigException.class, e -> {
            List<String> lines = e.problems().stream().map(ConfigProblem::toString).toList();
            assertThat(lines).containsExactly(
                    "test.conf: 1: method.r: is 0, expected an integer in [1, 64]",
                    "test.conf: 2: method.alpha: is \"sixteen\" (string), expected a number",
                    "test.conf: 3: method.bias: is 'nonne', expected one of [none, all, lora_only] (did you mean 'none'?)",
                    "test.conf: 5: method.dropout: is 1, expected a number in [0, 1)",
                    "test.conf: 1: method.target-modules: is missing, expected a list of strings",
                    "test.conf: 4: method.dropuot: unknown key (did you mean 'dropout'?); known keys: "
                            + "[r, alpha, bias, dropout, target-modules]");
            assertThat(e.getMessage()).startsWith("6 configuration problems:\n  - test.conf: 1: method.r");
        });
    }

    @Test
    void fileOriginsAreFileColonLine() {
        Config c = ConfigFactory.parseMap(Map.of("x", 1), "defaults");
        assertThat(ConfigReader.describe(c.getValue("x").origin())).isEqualTo("defaults");
        Config fromResource = ConfigFactory.parseResources(ConfigReaderTest.class, "sample.conf");
        assertThat(ConfigReader.describe(fromResource.getValue("a.b").origin())).isEqualTo("dev/peft4j/api/config/sample.conf:3");
    }

    @Test
    void nullsAndWrongListElementsAreProblems() {
        ConfigReader r = new ConfigReader(parse("a = null\nb = [1, [2]]\nc = {x = 1}"), "");
        assertThat(r.optionalString("a")).isEmpty();
        r.stringList("b");
        r.string("c");
        assertThat(r.problems()).extracting(ConfigProblem::key).containsExactly("b", "c");
        assertThat(r.problems().get(1).message()).isEqualTo("is {\"x\":1} (object), expected a string");
    }

    @Test
    void allowAndSectionMarkKeysAsKnown() {
        ConfigReader r = new ConfigReader(parse("name = lora\nsub { k = 1 }"), "method").allow("name");
        Config sub = r.section("sub");
        assertThat(sub.getInt("k")).isEqualTo(1);
        assertThat(r.problems()).isEmpty();
    }

    @Test
    void problemsMoveUnderASectionPathOnce() {
        ConfigProblem p = new ConfigProblem("r", "f:1", "bad");
        assertThat(p.under("method").key()).isEqualTo("method.r");
        assertThat(p.under("method").under("method").key()).isEqualTo("method.r");
        assertThat(p.under("").key()).isEqualTo("r");
    }

    @Test
    void suggestionsOnlyForCloseNames() {
        assertThat(ConfigReader.suggestion("lroa", List.of("lora", "prefix-tuning"))).isEqualTo(" (did you mean 'lora'?)");
        assertThat(ConfigReader.suggestion("learning-rat", List.of("learning-rate", "epochs"))).isEqualTo(" (did you mean 'learning-rate'?)");
        assertThat(ConfigReader.suggestion("xyz", List.of("lora", "prefix-tuning"))).isEmpty();
        assertThat(ConfigReader.suggestion("x", List.of())).isEmpty();
        assertThat(ConfigReader.editDistance("kitten", "sitting")).isEqualTo(3);
    }
}
