package dev.peft4j.runtime.data;

import dev.peft4j.api.text.TextTokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A deterministic test tokenizer: lower-cased whitespace words, each cut into pieces of at most 4
 * characters (so long words have sub-tokens), ids assigned on first sight from 5; [CLS]=1, [SEP]=2, [PAD]=0.
 */
public final class FakeTokenizer implements TextTokenizer {
    private final Map<String, Long> vocab = new HashMap<>();
    private final int vocabSize;

    public FakeTokenizer(int vocabSize) {
        this.vocabSize = vocabSize;
    }

    private long id(String piece) {
        // hash into a fixed vocabulary so ids stay below vocabSize
        return vocab.computeIfAbsent(piece, p -> 5 + (long) Math.floorMod(p.hashCode(), vocabSize - 5));
    }

    private void addWord(String word, long wordId, List<Long> ids, List<Long> words, List<String> tokens) {
        String w = word.toLowerCase(java.util.Locale.ROOT);
        for (int i = 0; i < w.length(); i += 4) {
            String piece = (i == 0 ? "" : "##") + w.substring(i, Math.min(w.length(), i + 4));
            ids.add(id(piece));
            words.add(wordId);
            tokens.add(piece);
        }
    }

    private Encoding build(List<List<String>> segments, int maxLength) {
        List<Long> ids = new ArrayList<>();
        List<Long> types = new ArrayList<>();
        List<Long> words = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        ids.add(1L);
        types.add(0L);
        words.add(-1L);
        tokens.add("[CLS]");
        long wordId = 0;
        for (int s = 0; s < segments.size(); s++) {
            for (String word : segments.get(s)) {
                int before = ids.size();
                addWord(word, wordId++, ids, words, tokens);
                for (int i = before; i < ids.size(); i++) {
                    types.add((long) s);
                }
            }
            ids.add(2L);
            types.add((long) s);
            words.add(-1L);
            tokens.add("[SEP]");
        }
        int n = Math.min(maxLength, ids.size());
        long[] a = new long[n];
        long[] m = new long[n];
        long[] t = new long[n];
        long[] w = new long[n];
        String[] tk = new String[n];
        for (int i = 0; i < n; i++) {
            boolean last = i == n - 1 && n < ids.size();
            a[i] = last ? 2L : ids.get(i);
            m[i] = 1;
            t[i] = types.get(i);
            w[i] = last ? -1 : words.get(i);
            tk[i] = last ? "[SEP]" : tokens.get(i);
        }
        return new Encoding(a, m, t, tk, w);
    }

    private static List<String> split(String text) {
        return List.of(text.strip().split("\\s+"));
    }

    @Override
    public Encoding encode(String text, int maxLength) {
        return build(List.of(split(text)), maxLength);
    }

    @Override
    public Encoding encodePair(String first, String second, int maxLength) {
        return build(List.of(split(first), split(second)), maxLength);
    }

    @Override
    public Encoding encodeWords(List<String> words, int maxLength) {
        return build(List.of(words), maxLength);
    }

    /**
     * Question + context windows like HF tokenizers' second-only truncation with stride: whitespace words cut into pieces of
     * up to 4 characters, each context piece with its character span.
     */
    @Override
    public List<ContextWindow> encodeWithContext(String question, String context, int maxLength, int stride) {
        List<Long> q = new ArrayList<>();
        for (String w : split(question)) {
            addWord(w, 0, q, new ArrayList<>(), new ArrayList<>());
        }
        List<long[]> pieces = new ArrayList<>(); // {id, start, end}
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\S+").matcher(context);
        while (m.find()) {
            String w = m.group().toLowerCase(java.util.Locale.ROOT);
            for (int i = 0; i < w.length(); i += 4) {
                String piece = (i == 0 ? "" : "##") + w.substring(i, Math.min(w.length(), i + 4));
                pieces.add(new long[] {id(piece), m.start() + i, m.start() + Math.min(w.length(), i + 4)});
            }
        }
        int room = maxLength - q.size() - 3;
        if (room <= stride) {
            throw new IllegalArgumentException("question too long");
        }
        List<ContextWindow> out = new ArrayList<>();
        for (int from = 0; ; from += room - stride) {
            int to = Math.min(pieces.size(), from + room);
            int n = q.size() + 3 + (to - from);
            long[] ids = new long[n];
            long[] types = new long[n];
            int[] starts = new int[n];
            int[] ends = new int[n];
            java.util.Arrays.fill(starts, -1);
            java.util.Arrays.fill(ends, -1);
            int t = 0;
            ids[t++] = 1L;
            for (long id : q) {
                ids[t++] = id;
            }
            ids[t++] = 2L;
            for (int p = from; p < to; p++) {
                ids[t] = pieces.get(p)[0];
                types[t] = 1;
                starts[t] = (int) pieces.get(p)[1];
                ends[t] = (int) pieces.get(p)[2];
                t++;
            }
            ids[t] = 2L;
            types[t] = 1;
            out.add(new ContextWindow(ids, types, starts, ends));
            if (to >= pieces.size()) {
                return out;
            }
        }
    }

    @Override
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return "";
    }

    @Override
    public OptionalLong tokenId(String token) {
        return OptionalLong.empty();
    }

    @Override
    public long padTokenId() {
        return 0;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public void close() {}
}
