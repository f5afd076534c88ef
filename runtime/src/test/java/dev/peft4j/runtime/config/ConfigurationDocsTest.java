package dev.peft4j.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md against every peft4j reference.conf (the modules on this classpath, minus
 * test-only ones, plus the example plugin's): every key documented, no documented key that does
 * not exist, and every documented default equal to the reference's. On failure the message gives
 * the rows to add, in the table's format.
 */
class ConfigurationDocsTest {
    private static final Path DOC = Path.of("..", "docs", "configuration.md");
    private static final Pattern ALIAS = Pattern.compile("^\\$\\{([^?}]+)\\}$");
    private static final Pattern ROW = Pattern.compile("^\\|\\s*`([^`]+)`\\s*\\|\\s*`(.*?)`\\s*\\|.*$");

    /** Every leaf key of peft4j's reference.conf files, with its default as rendered in the doc. */
    static Map<String, String> referenceKeys() throws Exception {
        List<Config> configs = new ArrayList<>();
        for (URL url : Collections.list(ConfigurationDocsTest.class.getClassLoader().getResources("reference.conf"))) {
            String u = url.toString();
            boolean peft4jModule = u.contains("/target/classes/") || u.matches(".*/peft4j-[a-z-]+-[^/]*\\.jar!/reference.conf");
            if (peft4jModule && !u.contains("/test-classes/")) {
                configs.add(ConfigFactory.parseURL(url));
            }
        }
        configs.add(ConfigFactory.parseFile(Path.of("..", "plugins-example", "src", "main", "resources", "reference.conf").toFile()));
        Config merged = ConfigFactory.empty();
        for (Config c : configs) {
            merged = merged.withFallback(c);
        }
        Config resolved = merged.resolve(com.typesafe.config.ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
        Map<String, String> keys = new LinkedHashMap<>();
        collect(resolved.root(), resolved, "", keys);
        // a section defined as an alias (train = ${peft4j.train}) is documented once, under the alias
        for (String key : merged.root().keySet()) {
            Matcher alias = ALIAS.matcher(merged.root().get(key).render(ConfigRenderOptions.concise()));
            if (alias.matches()) {
                keys.keySet().removeIf(k -> k.startsWith(alias.group(1) + "."));
            }
        }
        return keys;
    }

    private static void collect(ConfigObject object, Config resolved, String prefix, Map<String, String> out) {
        for (String key : new TreeSet<>(object.keySet())) {
            ConfigValue value = object.get(key);
            String path = prefix.isEmpty() ? ConfigUtil.joinPath(key) : prefix + "." + ConfigUtil.joinPath(key);
            if (value.valueType() == ConfigValueType.OBJECT && !((ConfigObject) value).isEmpty()) {
                collect((ConfigObject) value, resolved, path, out);
            } else {
                ConfigValue v = resolved.hasPathOrNull(path) && !resolved.getIsNull(path) ? resolved.getValue(path) : null;
                out.put(path, v == null ? "null" : v.render(ConfigRenderOptions.concise()));
            }
        }
    }

    static Map<String, String> documentedKeys() throws Exception {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String line : Files.readAllLines(DOC)) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                keys.put(m.group(1), m.group(2));
            }
        }
        return keys;
    }

    @Test
    void everyKeyIsDocumentedWithItsDefaultAndNothingElse() throws Exception {
        Map<String, String> reference = referenceKeys();
        Map<String, String> documented = documentedKeys();
        assertThat(reference).containsKeys("model.source", "method.name", "train.epochs", "peft4j.methods.example-norm-tuning.include-bias");
        StringBuilder missing = new StringBuilder();
        reference.forEach((k, v) -> {
            if (!documented.containsKey(k)) {
                missing.append("| `").append(k).append("` | `").append(v).append("` | |\n");
            }
        });
        assertThat(missing.toString()).as("rows missing from docs/configuration.md").isEmpty();
        assertThat(new TreeSet<>(documented.keySet())).as("documented keys that no reference.conf declares")
                .isSubsetOf(reference.keySet());
        reference.forEach((k, v) -> assertThat(documented.get(k)).as("documented default of " + k).isEqualTo(v));
    }
}
