package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOriginFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.config.InvalidConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An experiment as the user wrote it: a HOCON file (with {@code include}s and {@code ${?ENV}}
 * substitutions) under {@code key=value} overrides from the command line, not yet merged with any
 * defaults nor validated. {@link ExperimentValidator} does that, once the plugins are known.
 */
public final class ExperimentConfig {
    /** The origin description of command-line overrides. */
    public static final String COMMAND_LINE = "command line";

    private final Config user;
    private final String source;
    private final Path file;

    private ExperimentConfig(Config user, String source, Path file) {
        this.user = user;
        this.source = source;
        this.file = file;
    }

    /**
     * Parses {@code file} and the overrides. Syntax errors (in the file, an include or an override)
     * are thrown as an {@link InvalidConfigException} with file and line.
     */
    public static ExperimentConfig load(Path file, List<String> overrides) {
        requireNonNull(file, "file is null");
        requireNonNull(overrides, "overrides is null");
        if (!Files.isRegularFile(file)) {
            throw new InvalidConfigException(List.of(new ConfigProblem("", file.toString(), "experiment file not found")));
        }
        Config parsed;
        try {
            parsed = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
        } catch (ConfigException e) {
            throw new InvalidConfigException(List.of(problem(e, file.toString())));
        }
        if (file.getFileName() != null && file.getFileName().toString().equals("resolved.conf")) {
            parsed = migrateRunRecord(parsed);
        }
        return new ExperimentConfig(withOverrides(parsed, overrides), file.toString(), file);
    }

    /**
     * A run directory's {@code resolved.conf} written by an earlier peft4j keeps working: keys that moved are moved
     * (a reader's {@code skip-bad-rows} became {@code data.bad-rows}), so that its run can still be evaluated, used as a
     * teacher or merged. An experiment file a user writes gets the error that says where the key went instead.
     */
    static Config migrateRunRecord(Config record) {
        if (!record.hasPath("data") || record.getValue("data").valueType() != com.typesafe.config.ConfigValueType.OBJECT) {
            return record;
        }
        Config out = record;
        boolean skip = false;
        for (String split : record.getObject("data").keySet()) {
            String path = com.typesafe.config.ConfigUtil.joinPath("data", split, "skip-bad-rows");
            com.typesafe.config.ConfigValue section = record.getObject("data").get(split);
            if (section != null && section.valueType() == com.typesafe.config.ConfigValueType.OBJECT && record.hasPath(path)) {
                try {
                    skip |= record.getBoolean(path);
                } catch (ConfigException e) {
                    continue; // not a boolean: left for validation to report
                }
                out = out.withoutPath(path);
            }
        }
        if (skip && !out.hasPath("data.bad-rows")) {
            out = out.withValue("data.bad-rows", com.typesafe.config.ConfigValueFactory.fromAnyRef("skip"));
        }
        return out;
    }

    /** An experiment given as a {@link Config} (from Java), with overrides. */
    public static ExperimentConfig load(Config config, List<String> overrides) {
        requireNonNull(config, "config is null");
        requireNonNull(overrides, "overrides is null");
        return new ExperimentConfig(withOverrides(config, overrides), ConfigReader.describe(config.origin()), null);
    }

    /** The user's layers (overrides over the file), unresolved and without defaults. */
    public Config userConfig() {
        return user;
    }

    /** The file, or a description of the {@link Config} given. */
    public String source() {
        return source;
    }

    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    /**
     * {@code plugins.dir} as written (environment substitutions applied), before validation, so that
     * the plugins can be loaded before the config that uses them is validated.
     */
    public Optional<Path> pluginDirectory() {
        try {
            Config resolved = user.resolve(ConfigResolveOptions.defaults().setAllowUnresolved(true));
            if (resolved.hasPath("plugins.dir") && resolved.getValue("plugins.dir").valueType() == com.typesafe.config.ConfigValueType.STRING) {
                return Optional.of(Path.of(resolved.getString("plugins.dir")));
            }
        } catch (ConfigException | java.nio.file.InvalidPathException e) {
            // reported by validation, with its line
        }
        return Optional.empty();
    }

    private static Config withOverrides(Config base, List<String> overrides) {
        List<ConfigProblem> problems = new ArrayList<>();
        Config result = base;
        for (String override : overrides) {
            requireNonNull(override, "override is null");
            int eq = override.indexOf('=');
            String origin = COMMAND_LINE + " (" + override + ")";
            if (eq <= 0) {
                problems.add(new ConfigProblem(override, origin, "expected key=value"));
                continue;
            }
            String key = override.substring(0, eq).trim();
            String text = override.substring(eq + 1).trim();
            try {
                ConfigUtil.splitPath(key);
            } catch (ConfigException e) {
                problems.add(new ConfigProblem(key, origin, "is not a valid key: " + e.getMessage()));
                continue;
            }
            ConfigValue value = parseValue(text).withOrigin(ConfigOriginFactory.newSimple(origin));
            result = ConfigFactory.empty().withValue(key, value).withFallback(result);
        }
        if (!problems.isEmpty()) {
            throw new InvalidConfigException(problems);
        }
        return result;
    }

    /**
     * HOCON when the text is one complete value ({@code 16}, {@code true}, {@code [query, value]},
     * {@code "quoted"}), otherwise the literal text ({@code maven:g:a:v}, {@code C:\data},
     * {@code a//b}), so that paths and coordinates need no quoting.
     */
    static ConfigValue parseValue(String text) {
        if (!text.contains("//") && !text.contains("#")) {
            try {
                Config c = ConfigFactory.parseString("v = " + text, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF));
                if (c.root().size() == 1 && c.root().containsKey("v")) {
                    return c.root().get("v");
                }
            } catch (ConfigException e) {
                // not HOCON: a literal string
            }
        }
        return ConfigValueFactory.fromAnyRef(text);
    }

    /**
     * A Typesafe error as a problem; {@code fallback} (the experiment file) is its origin when Typesafe gives none, as
     * for a cycle of substitutions, so that every problem says where to look.
     */
    static ConfigProblem problem(ConfigException e, String fallback) {
        String origin = e.origin() == null ? "" : ConfigReader.describe(e.origin());
        if (origin.isBlank()) {
            origin = fallback;
        }
        String message = e.getMessage();
        // Typesafe prefixes the origin to the message; keep the message only
        if (e.origin() != null && message.startsWith(e.origin().description())) {
            message = message.substring(e.origin().description().length()).replaceFirst("^:\\s*", "");
        }
        return new ConfigProblem("", origin, plain(e, message));
    }

    /** Typesafe Config's messages where they mislead or dump internals, said plainly. */
    static String plain(ConfigException e, String message) {
        if (message.contains("expecting a close parentheses ')' here, not: end of file")) {
            return "the file ends inside an object or a list: a closing '}' or ']' is missing";
        }
        if (e instanceof ConfigException.IO || message.contains("FileNotFoundException") || message.contains("resource not found on classpath")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("FileNotFoundException: (.*)$").matcher(message);
            return "an included file does not exist: " + (m.find() ? m.group(1) : message)
                    + " (include required(file(\"...\")) reads a path, relative ones from the working directory)";
        }
        if (e instanceof ConfigException.BugOrBroken || message.contains("ResolveSource(")) {
            return "a substitution refers to itself through other keys (a cycle of ${...}, in the file or the key=value overrides); "
                    + "give one of the keys a value";
        }
        return message;
    }
}
