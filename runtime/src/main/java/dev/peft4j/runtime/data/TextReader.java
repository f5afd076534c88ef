package dev.peft4j.runtime.data;

import dev.peft4j.api.text.TextTokenizer;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain text for causal language modelling. {@code block-size = 0}: every non-blank line is one
 * document (an example with a {@link Fields#TEXT}). {@code block-size = N}: the whole file is
 * tokenised line by line (each line with the tokenizer's special tokens, so Llama documents start
 * with BOS, as in pre-training), the ids are concatenated and cut into blocks of exactly N tokens
 * ({@link Fields#INPUT_IDS}); the last, shorter remainder is dropped, as HF's {@code run_clm} does.
 * A file that yields no example (no text, or fewer than N tokens) is an error.
 */
final class TextReader extends AbstractReader {
    /** Lines are never truncated when cutting blocks: the block is the unit of length. */
    private static final int NO_TRUNCATION = 1 << 20;

    private final int blockSize;
    private final TextTokenizer tokenizer;

    TextReader(ReaderConfig config, int blockSize, TextTokenizer tokenizer) {
        super(config);
        if (blockSize > 0 && tokenizer == null) {
            throw new DataException("format text: block-size = " + blockSize + " needs the model's tokenizer, and none is available");
        }
        this.blockSize = blockSize;
        this.tokenizer = tokenizer;
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        List<Example> out = new ArrayList<>();
        long[] buffer = new long[Math.max(16, blockSize * 2)];
        int buffered = 0;
        int blockStartLine = 1;
        long tokens = 0;
        int lines = 0;
        int lineNo = 0;
        String line;
        while ((line = readLine(in)) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            lines++;
            if (blockSize == 0) {
                out.add(new Example(Map.of(Fields.TEXT, line), name + ":" + lineNo));
                continue;
            }
            long[] ids = tokenizer.encode(line, NO_TRUNCATION).ids();
            tokens += ids.length;
            if (buffered == 0) {
                blockStartLine = lineNo;
            }
            for (long id : ids) {
                if (buffered == buffer.length) {
                    buffer = Arrays.copyOf(buffer, buffer.length * 2);
                }
                buffer[buffered++] = id;
            }
            int used = 0;
            while (buffered - used >= blockSize) {
                List<Long> block = new ArrayList<>(blockSize);
                for (int i = used; i < used + blockSize; i++) {
                    block.add(buffer[i]);
                }
                used += blockSize;
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put(Fields.INPUT_IDS, List.copyOf(block));
                out.add(new Example(fields, name + ":" + (blockStartLine == lineNo ? String.valueOf(lineNo) : blockStartLine + "-" + lineNo)));
                blockStartLine = lineNo;
            }
            System.arraycopy(buffer, used, buffer, 0, buffered - used);
            buffered -= used;
        }
        if (out.isEmpty()) {
            throw new DataException(blockSize == 0 ? name + ": no text (every line is blank)"
                    : name + ": " + tokens + " tokens in " + lines + " non-blank lines, fewer than block-size = " + blockSize
                            + ", so no block; lower block-size or give more text");
        }
        return out;
    }
}
