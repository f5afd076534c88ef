package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDictLoaderTest {
    @TempDir
    Path dir;

    /** embeddings.weight [10,4], block.query.{weight [4,4], bias [4]}, block.value.weight [2,4]. */
    static final class Block extends Module {
        Block(NDManager m) {
            super(ModuleType.ATTENTION);
            addChild("query", new Linear(m, 4, 4, true));
            addChild("value", new Linear(m, 4, 2, false));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            return new NDList(child("value").forward(child("query").forward(inputs.singletonOrThrow(), ctx), ctx));
        }
    }

    static final class Root extends Module {
        Root(NDManager m) {
            super(ModuleType.MODEL);
            addChild("embeddings", new Embedding(m, 10, 4));
            addChild("block", new Block(m));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            return child("block").forward(child("embeddings").forward(inputs, ctx), ctx);
        }
    }

    private static Map<String, NDArray> stateDict(NDManager m, String prefix) {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        sd.put(prefix + "embeddings.weight", m.arange(40f).reshape(10, 4));
        sd.put(prefix + "block.query.weight", m.create(range(1, 17, -1), new Shape(4, 4)));
        sd.put(prefix + "block.query.bias", m.create(new float[] {0.5f, 1.5f, 2.5f, 3.5f}));
        sd.put(prefix + "block.value.weight", m.create(range(100, 108, 1), new Shape(2, 4)));
        return sd;
    }

    @Test
    void copiesEveryTensorIntoItsParameterKeepingTrainableFlags() {
        try (NDManager m = NDManager.newBaseManager()) {
            Path path = dir.resolve("sd.safetensors");
            SafetensorsWriter.write(path, stateDict(m, ""), null);
            Root root = new Root(m);
            root.find("block.value").setTrainable(false);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                StateDictLoader.loadStrict(root, f, Map.of(), Set.of());
            }
            Map<String, Parameter> p = root.namedParameters();
            assertThat(p.get("embeddings.weight").value().toFloatArray()).containsExactly(range(0, 40, 1));
            assertThat(p.get("block.query.weight").value().toFloatArray()).containsExactly(range(1, 17, -1));
            assertThat(p.get("block.query.bias").value().toFloatArray()).containsExactly(0.5f, 1.5f, 2.5f, 3.5f);
            assertThat(p.get("block.value.weight").value().toFloatArray()).containsExactly(range(100, 108, 1));
            assertThat(p.get("block.value.weight").trainable()).isFalse();
            assertThat(p.get("block.value.weight").value().hasGradient()).isFalse();
            assertThat(p.get("block.query.weight").trainable()).isTrue();
            assertThat(p.get("block.query.weight").value().hasGradient()).isTrue();
            assertThat(p.get("block.query.weight").value().getName()).isEqualTo("weight");
        }
    }

    private static float[] range(int from, int to, int sign) {
        float[] out = new float[to - from];
        for (int i = 0; i < out.length; i++) {
            out[i] = sign * (from + i);
        }
        return out;
    }

    @Test
    void convertsBf16AndF16IntoTheParameterDtype() {
        try (NDManager m = NDManager.newBaseManager()) {
            // block.query.bias as BF16 bytes built by hand, the rest F16.
            Map<String, NDArray> sd = stateDict(m, "");
            List<SafetensorsWriter.RawTensor> raw = new java.util.ArrayList<>();
            ByteBuffer bias = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : new float[] {0.5f, 1.5f, 2.5f, -3.5f}) {
                bias.putShort((short) (Float.floatToIntBits(v) >>> 16));
            }
            for (Map.Entry<String, NDArray> e : sd.entrySet()) {
                if (e.getKey().equals("block.query.bias")) {
                    raw.add(new SafetensorsWriter.RawTensor(e.getKey(), SafetensorsDType.BF16, new long[] {4}, bias.flip()));
                } else {
                    NDArray half = e.getValue().toType(DataType.FLOAT16, false);
                    raw.add(new SafetensorsWriter.RawTensor(e.getKey(), SafetensorsDType.F16, half.getShape().getShape(),
                            half.toByteBuffer()));
                }
            }
            Path path = dir.resolve("half.safetensors");
            SafetensorsWriter.writeRaw(path, raw, null);
            Root root = new Root(m);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                StateDictLoader.loadStrict(root, f, Map.of(), Set.of());
            }
            Map<String, Parameter> p = root.namedParameters();
            assertThat(p.values()).allMatch(x -> x.value().getDataType() == DataType.FLOAT32);
            assertThat(p.get("block.query.bias").value().toFloatArray()).containsExactly(0.5f, 1.5f, 2.5f, -3.5f);
            assertThat(p.get("embeddings.weight").value().toFloatArray()).containsExactly(range(0, 40, 1));
        }
    }

    @Test
    void reportsAllMissingUnexpectedAndMismatchedTensorsAndChangesNothing() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = stateDict(m, "");
            sd.remove("block.query.bias");
            sd.remove("embeddings.weight");
            sd.put("block.value.weight", m.ones(new Shape(4, 2)));
            sd.put("pooler.dense.weight", m.ones(new Shape(3, 3)));
            sd.put("block.key.weight", m.ones(new Shape(4, 4)));
            Path path = dir.resolve("bad.safetensors");
            SafetensorsWriter.write(path, sd, null);
            Root root = new Root(m);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                assertThatThrownBy(() -> StateDictLoader.loadStrict(root, f, Map.of(), Set.of()))
                        .isExactlyInstanceOf(Peft4jException.class)
                        .hasMessageContaining(path.toString())
                        .hasMessageContaining("2 missing from the file")
                        .hasMessageContaining("embeddings.weight (10, 4)")
                        .hasMessageContaining("block.query.bias (4)")
                        .hasMessageContaining("2 unexpected in the file")
                        .hasMessageContaining("pooler.dense.weight (3, 3)")
                        .hasMessageContaining("block.key.weight (4, 4)")
                        .hasMessageContaining("1 shape mismatches")
                        .hasMessageContaining("block.value.weight: file (4, 2) vs model (2, 4)");
                // Nothing was loaded, not even the tensor that did fit.
                assertThat(root.namedParameters().get("block.query.weight").value().toFloatArray()).containsOnly(0f);

                // With the right allowances the same file still fails only on the shape mismatch.
                assertThatThrownBy(() -> StateDictLoader.loadStrict(root, f, Map.of(), Set.of("embeddings.weight", "block.query.bias"),
                        Set.of("pooler.dense.weight", "block.key.weight")))
                        .hasMessageNotContaining("missing").hasMessageNotContaining("unexpected")
                        .hasMessageContaining("1 shape mismatches");
            }
        }
    }

    @Test
    void renamesPrefixesAndExactNamesAndIgnoresAllowedMissing() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = stateDict(m, "bert.");
            NDArray value = sd.remove("bert.block.value.weight");
            sd.put("old_value", value);
            sd.remove("bert.embeddings.weight"); // e.g. tied to something else in a real architecture
            Path path = dir.resolve("prefixed.safetensors");
            SafetensorsWriter.write(path, sd, null);
            Root root = new Root(m);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                assertThatThrownBy(() -> StateDictLoader.loadStrict(root, f, Map.of(), Set.of()))
                        .hasMessageContaining("bert.block.query.weight (4, 4)")
                        .hasMessageContaining("3 unexpected").hasMessageContaining("4 missing");
                StateDictLoader.loadStrict(root, f, Map.of("bert.", "", "old_value", "block.value.weight"), Set.of("embeddings.weight"));
            }
            assertThat(root.namedParameters().get("block.value.weight").value().toFloatArray()).containsExactly(range(100, 108, 1));
            assertThat(root.namedParameters().get("block.query.bias").value().toFloatArray()).containsExactly(0.5f, 1.5f, 2.5f, 3.5f);
            assertThat(root.namedParameters().get("embeddings.weight").value().toFloatArray()).containsOnly(0f);
        }
    }

    @Test
    void twoTensorsRenamedOntoOneParameterIsAnError() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = stateDict(m, "");
            sd.put("copy_of_bias", m.ones(new Shape(4)));
            Path path = dir.resolve("collide.safetensors");
            SafetensorsWriter.write(path, sd, null);
            Root root = new Root(m);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                assertThatThrownBy(() -> StateDictLoader.loadStrict(root, f, Map.of("copy_of_bias", "block.query.bias"), Set.of()))
                        .isExactlyInstanceOf(Peft4jException.class)
                        .hasMessageContaining("several tensors for one parameter")
                        .hasMessageContaining("block.query.bias <- both");
            }
        }
    }

    @Test
    void prefixRenameUsesTheLongestMatchingPrefixAndExactNamesWin() {
        Map<String, String> renames = Map.of("a.", "x.", "a.b.", "y.", "a.b.c", "z");
        assertThat(StateDictLoader.rename("a.q", renames)).isEqualTo("x.q");
        assertThat(StateDictLoader.rename("a.b.q", renames)).isEqualTo("y.q");
        assertThat(StateDictLoader.rename("a.b.c", renames)).isEqualTo("z");
        assertThat(StateDictLoader.rename("b.q", renames)).isEqualTo("b.q");
    }
}
