package dev.peft4j.runtime.metrics;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Entity-level precision, recall and F1 with seqeval's default (non-strict) semantics for IOB2/IOBES
 * tags. Entities are read with seqeval's {@code get_entities} rules: an {@code I-X} after {@code O} or
 * after a different type starts a new entity (so a lone {@code I-PER} is an entity), and a type change
 * always ends one. An entity counts as correct only if its type, start and end all match.
 */
public final class EntityMetrics {
    /** One entity: its type and inclusive token span within its sentence. */
    public record Entity(String type, int start, int end) {}

    /** Scores of one entity type (or the micro average over all types); support = gold entities. */
    public record Score(double precision, double recall, double f1, long support, long predicted, long correct) {}

    /** Per-type scores (sorted by type), the micro average over all entities, and the macro average of types. */
    public record Report(Map<String, Score> perType, Score micro, Score macro) {}

    private EntityMetrics() {}

    /** The entities of one tag sequence, in order. */
    public static List<Entity> entities(List<String> tags) {
        requireNonNull(tags, "tags is null");
        List<Entity> chunks = new ArrayList<>();
        String prevTag = "O";
        String prevType = "";
        int begin = 0;
        int n = tags.size();
        for (int i = 0; i <= n; i++) {
            String chunk = i < n ? tags.get(i) : "O";
            if (chunk.isEmpty()) {
                throw new IllegalArgumentException("empty tag at position " + i);
            }
            String tag = chunk.substring(0, 1);
            String rest = chunk.substring(1);
            int dash = rest.indexOf('-');
            // seqeval: chunk[1:].split('-', maxsplit=1)[-1] or '_'
            String type = dash < 0 ? rest : rest.substring(dash + 1);
            if (type.isEmpty()) {
                type = "_";
            }
            if (endOfChunk(prevTag, tag, prevType, type)) {
                chunks.add(new Entity(prevType, begin, i - 1));
            }
            if (startOfChunk(prevTag, tag, prevType, type)) {
                begin = i;
            }
            prevTag = tag;
            prevType = type;
        }
        return chunks;
    }

    private static boolean endOfChunk(String prevTag, String tag, String prevType, String type) {
        boolean end = prevTag.equals("E") || prevTag.equals("S");
        if ((prevTag.equals("B") || prevTag.equals("I")) && (tag.equals("B") || tag.equals("S") || tag.equals("O"))) {
            end = true;
        }
        if (!prevTag.equals("O") && !prevTag.equals(".") && !prevType.equals(type)) {
            end = true;
        }
        return end;
    }

    private static boolean startOfChunk(String prevTag, String tag, String prevType, String type) {
        boolean start = tag.equals("B") || tag.equals("S");
        if ((prevTag.equals("E") || prevTag.equals("S") || prevTag.equals("O")) && (tag.equals("E") || tag.equals("I"))) {
            start = true;
        }
        if (!tag.equals("O") && !tag.equals(".") && !prevType.equals(type)) {
            start = true;
        }
        return start;
    }

    /** Scores predicted against gold tag sequences (one list per sentence; lengths must match). */
    public static Report score(List<List<String>> gold, List<List<String>> predicted) {
        requireNonNull(gold, "gold is null");
        requireNonNull(predicted, "predicted is null");
        if (gold.size() != predicted.size()) {
            throw new IllegalArgumentException("gold has " + gold.size() + " sentences but predicted has " + predicted.size());
        }
        Map<String, long[]> counts = new LinkedHashMap<>(); // type -> {gold, predicted, correct}
        for (int s = 0; s < gold.size(); s++) {
            if (gold.get(s).size() != predicted.get(s).size()) {
                throw new IllegalArgumentException("sentence " + s + ": gold has " + gold.get(s).size()
                        + " tags but predicted has " + predicted.get(s).size());
            }
            List<Entity> g = entities(gold.get(s));
            List<Entity> p = entities(predicted.get(s));
            Set<Entity> goldSet = new HashSet<>(g);
            for (Entity e : g) {
                counts.computeIfAbsent(e.type(), t -> new long[3])[0]++;
            }
            for (Entity e : p) {
                long[] c = counts.computeIfAbsent(e.type(), t -> new long[3]);
                c[1]++;
                if (goldSet.contains(e)) {
                    c[2]++;
                }
            }
        }
        Map<String, Score> perType = new LinkedHashMap<>();
        long totalGold = 0;
        long totalPredicted = 0;
        long totalCorrect = 0;
        double sumP = 0;
        double sumR = 0;
        double sumF = 0;
        for (String type : new TreeSet<>(counts.keySet())) {
            long[] c = counts.get(type);
            Score score = score(c[0], c[1], c[2]);
            perType.put(type, score);
            totalGold += c[0];
            totalPredicted += c[1];
            totalCorrect += c[2];
            sumP += score.precision();
            sumR += score.recall();
            sumF += score.f1();
        }
        int types = Math.max(1, perType.size());
        Score micro = score(totalGold, totalPredicted, totalCorrect);
        Score macro = new Score(sumP / types, sumR / types, sumF / types, totalGold, totalPredicted, totalCorrect);
        return new Report(perType, micro, macro);
    }

    private static Score score(long gold, long predicted, long correct) {
        double precision = predicted == 0 ? 0.0 : (double) correct / predicted;
        double recall = gold == 0 ? 0.0 : (double) correct / gold;
        double f1 = ClassificationMetrics.f1(correct, predicted - correct, gold - correct);
        return new Score(precision, recall, f1, gold, predicted, correct);
    }
}
