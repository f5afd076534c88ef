package dev.peft4j.runtime.config;

import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.runtime.data.BadRows;
import java.util.List;
import java.util.Optional;

/**
 * The {@code data} section's own keys (the splits {@code data.train}, {@code data.eval} are component
 * sections, read by their dataset readers).
 *
 * @param labels label names in class-id order, or empty to take them from the training data
 * @param trainLimit at most this many training examples (a seeded random subset); 0 = all
 * @param evalLimit the same for evaluation
 * @param holdout the fraction of training data held out for evaluation when there is no eval split
 * @param badRows {@code data.bad-rows}: what every reader does with a malformed row
 */
public record DataSettings(Optional<List<String>> labels, int trainLimit, int evalLimit, double holdout, BadRows.Policy badRows) {
    public static final SettingsSection<DataSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "data";
        }

        @Override
        public Class<DataSettings> type() {
            return DataSettings.class;
        }

        @Override
        public DataSettings read(ConfigReader r) {
            r.allow("train", "eval");
            Optional<List<String>> labels = Optional.empty();
            if (r.valueType("labels").filter(t -> t != com.typesafe.config.ConfigValueType.NULL).isPresent()) {
                List<String> l = r.stringList("labels");
                if (l.isEmpty()) {
                    r.problem("labels", "is empty, expected the label names (or null to take them from the data)");
                } else if (l.stream().distinct().count() != l.size()) {
                    r.problem("labels", "lists a label twice: " + l);
                }
                labels = Optional.of(List.copyOf(l));
            }
            int trainLimit = r.intValue("train-limit", 0, Integer.MAX_VALUE);
            int evalLimit = r.intValue("eval-limit", 0, Integer.MAX_VALUE);
            double holdout = r.doubleValue("holdout", 0, true, 1, false);
            String policy = r.string("bad-rows");
            BadRows.Policy badRows = BadRows.Policy.parse(policy);
            if (badRows == null) {
                r.problem("bad-rows", "is '" + policy + "', expected fail or skip");
                badRows = BadRows.Policy.FAIL;
            }
            return new DataSettings(labels, trainLimit, evalLimit, holdout, badRows);
        }
    };
}
