package dev.peft4j.models.onnx;

import java.io.IOException;
import java.io.InputStream;

/** Test fixtures of the tiny ONNX export. */
final class MavenModelSourceTestAccess {
    private MavenModelSourceTestAccess() {}

    static byte[] tinyTokenizer() throws IOException {
        try (InputStream in = MavenModelSourceTestAccess.class.getResourceAsStream("/tiny-bert-onnx/tokenizer.json")) {
            return in.readAllBytes();
        }
    }
}
