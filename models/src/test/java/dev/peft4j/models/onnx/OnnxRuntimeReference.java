package dev.peft4j.models.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipFile;

/** Runs an ONNX BERT graph with ONNX Runtime: the reference the imported models are compared with. */
final class OnnxRuntimeReference implements AutoCloseable {
    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OnnxRuntimeReference(byte[] onnx) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(2);
        this.session = environment.createSession(onnx, options);
    }

    /** The {@code .onnx} entry of a jar, as bytes. */
    static byte[] onnxFromJar(Path jar, String entryName) throws IOException {
        try (ZipFile zip = new ZipFile(jar.toFile()); InputStream in = zip.getInputStream(zip.getEntry(entryName))) {
            return in.readAllBytes();
        }
    }

    /** {@code last_hidden_state [batch, seq, hidden]} for int64 ids, mask and type ids {@code [batch, seq]}. */
    float[][][] lastHiddenState(long[][] ids, long[][] mask, long[][] types) throws OrtException {
        return (float[][][]) outputs(ids, mask, types)[0];
    }

    /** Every graph output's value, in graph order ({@code last_hidden_state}, then {@code pooler_output} if any). */
    Object[] outputs(long[][] ids, long[][] mask, long[][] types) throws OrtException {
        Map<String, ai.onnxruntime.OnnxTensor> inputs = new LinkedHashMap<>();
        try {
            inputs.put("input_ids", ai.onnxruntime.OnnxTensor.createTensor(environment, ids));
            inputs.put("attention_mask", ai.onnxruntime.OnnxTensor.createTensor(environment, mask));
            inputs.put("token_type_ids", ai.onnxruntime.OnnxTensor.createTensor(environment, types));
            try (OrtSession.Result result = session.run(inputs)) {
                Object[] values = new Object[result.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = result.get(i).getValue();
                }
                return values;
            }
        } finally {
            inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
