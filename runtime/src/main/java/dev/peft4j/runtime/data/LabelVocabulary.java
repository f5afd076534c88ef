package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Label names to class ids. From the config (its order is the id order) or from the training data:
 * the distinct labels sorted numerically when all are integers ({@code 0, 1, 2, 10}), else as strings.
 */
public final class LabelVocabulary {
    private final List<String> labels;
    private final Map<String, Integer> ids = new LinkedHashMap<>();

    private LabelVocabulary(List<String> labels) {
        this.labels = List.copyOf(labels);
        for (String l : this.labels) {
            if (ids.put(l, ids.size()) != null) {
                throw new DataException("label '" + l + "' is listed twice in the label vocabulary " + labels);
            }
        }
        if (this.labels.isEmpty()) {
            throw new DataException("the label vocabulary is empty");
        }
    }

    public static LabelVocabulary of(List<String> labels) {
        return new LabelVocabulary(requireNonNull(labels, "labels is null"));
    }

    public static LabelVocabulary fromData(Collection<String> seen) {
        requireNonNull(seen, "seen is null");
        boolean allInts = !seen.isEmpty() && seen.stream().allMatch(s -> s.matches("-?\\d{1,9}"));
        TreeSet<String> sorted = allInts ? new TreeSet<>((a, b) -> Integer.compare(Integer.parseInt(a), Integer.parseInt(b)) != 0
                ? Integer.compare(Integer.parseInt(a), Integer.parseInt(b)) : a.compareTo(b)) // 1 and 01 stay two labels (then refused)
                : new TreeSet<>();
        sorted.addAll(seen);
        return new LabelVocabulary(new ArrayList<>(sorted));
    }

    /**
     * {@code 1}, {@code 1.0} and {@code 01} in one label column are one class written three ways; taken from the data as they are,
     * they would silently become three classes. For class labels read from the data only: explicit {@code data.labels} say what
     * the classes are, and a regression's scores are numbers, not classes.
     */
    public static void requireOneSpellingPerNumber(Collection<String> seen) {
        java.util.Map<java.math.BigDecimal, java.util.TreeSet<String>> byValue = new java.util.HashMap<>();
        for (String label : seen) {
            try {
                byValue.computeIfAbsent(new java.math.BigDecimal(label.strip()).stripTrailingZeros(), k -> new TreeSet<>()).add(label);
            } catch (NumberFormatException notANumber) {
                // a name, not a number
            }
        }
        for (java.util.TreeSet<String> spellings : byValue.values()) {
            if (spellings.size() > 1) {
                throw new DataException("the labels " + spellings.stream().map(l -> "'" + l + "'").collect(java.util.stream.Collectors.joining(", "))
                        + " are one number written differently and would become " + spellings.size()
                        + " separate classes; write them one way in the data, or list the classes in data.labels");
            }
        }
    }

    public int size() {
        return labels.size();
    }

    public List<String> labels() {
        return labels;
    }

    public String label(int id) {
        return labels.get(id);
    }

    public boolean contains(String label) {
        return ids.containsKey(label);
    }

    /** The id of {@code label}; a label outside the vocabulary is an error naming {@code origin}. */
    public int id(String label, String origin) {
        Integer id = ids.get(label);
        if (id == null) {
            throw new DataException(origin + ": label '" + label + "' is not in the label vocabulary " + abbreviated()
                    + " (set data.labels to the full list, or train on data that has it)");
        }
        return id;
    }

    private String abbreviated() {
        return labels.size() <= 30 ? labels.toString() : labels.subList(0, 30) + "... (" + labels.size() + " labels)";
    }
}
