package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** teacher.cache: the teacher's logits once, keyed by example index, fingerprinted by teacher and data. */
class TeacherCacheTest {
    static final TokenizedDataset TRAIN = TinySetup.dataset(40, 4);

    @TempDir
    Path dir;

    private static String open(Path file, Teacher teacher, TokenizedDataset data, TeacherCache[] out) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        out[0] = TeacherCache.openOrBuild(file, teacher, data, 16, 0, new SafetensorsTensorFiles(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void cachedLogitsAreTheTeachersAndTheLossIsTheLiveOne() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            Path file = dir.resolve("cache.safetensors");
            TeacherCache[] cache = new TeacherCache[1];
            assertThat(open(file, teacher, TRAIN, cache)).contains("wrote " + file).contains("40 examples x 2 logits");
            assertThat(open(file, teacher, TRAIN, cache)).contains("reusing " + file);

            TaskModel student = TinySetup.model(manager);
            student.setObjectives(TrainingObjectives.of(List.of(TrainingObjectivesTest.objective("soft-target-kl", "alpha = 0.6", 1f, student, teacher, 0)),
                    teacher));
            Batch batch = new Batcher(TRAIN, 8, 2, 0).trainingEpoch(3, 1).get(2); // shuffled: indices out of order
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step);
                float[] live = teacher.outputs(batch.input(step), false, ctx).head().toFloatArray();
                float[] cached = cache[0].logits(batch, step).toFloatArray();
                assertThat(cached).hasSameSizeAs(live);
                for (int i = 0; i < live.length; i++) {
                    assertThat(cached[i]).isCloseTo(live[i], within(1e-5f));
                }
                float liveLoss = student.trainingLoss(batch, ctx).getFloat();
                student.setObjectives(student.objectives().withCache(cache[0]));
                float cachedLoss = student.trainingLoss(batch, ForwardContext.inference(step)).getFloat();
                assertThat(cachedLoss).isCloseTo(liveLoss, within(1e-5f));
            }
        }
    }

    @Test
    void anotherTeacherOrOtherDataRebuildTheCacheSayingWhy() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            Path file = dir.resolve("cache.safetensors");
            TeacherCache[] cache = new TeacherCache[1];
            open(file, teacher, TRAIN, cache);
            NDArray w = teacher.backbone().module().namedParameters().get("encoder.layer.0.attention.self.query.weight").value();
            try (NDArray changed = w.add(manager.ones(w.getShape()))) {
                changed.copyTo(w);
            }
            assertThat(open(file, teacher, TRAIN, cache)).contains("stale").contains("built for teacher test teacher (fingerprint ")
                    .doesNotContain("training data");
            assertThat(open(file, teacher, TinySetup.dataset(40, 5), cache)).contains("stale").contains("its training data differ")
                    .doesNotContain("built for teacher");
            assertThat(cache[0].examples()).isEqualTo(40);
        }
    }

    @Test
    void hiddenStateObjectivesCannotReadACache() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            TaskModel student = TinySetup.model(manager);
            TrainingObjectives objectives = TrainingObjectives.of(List.of(TrainingObjectivesTest.objective("hidden-state", "", 1f, student, teacher, 0)),
                    teacher);
            TeacherCache[] cache = new TeacherCache[1];
            open(dir.resolve("c.safetensors"), teacher, TRAIN, cache);
            assertThatThrownBy(() -> objectives.withCache(cache[0])).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("objectives[0] (hidden-state) needs the teacher's hidden states").hasMessageContaining("teacher.cache = false");
        }
    }

    /**
     * A causal LM teacher's per-token logits: the cache keeps the top K per position. With K = the
     * vocabulary the rebuilt logits are the live ones; with K = 5 they are the live top 5 and nothing else,
     * and token-kl on them is the KL over the renormalised top 5 (a reference computed here in Java).
     */
    @Test
    void perTokenLogitsKeepTheTopKAndTokenKlRunsOverThem() {
        java.util.Map<String, Object> values = new java.util.LinkedHashMap<>(java.util.Map.of("model_type", "llama", "vocab_size", 64, "hidden_size", 16,
                "intermediate_size", 24, "num_hidden_layers", 2, "num_attention_heads", 4, "num_key_value_heads", 2, "tie_word_embeddings", true));
        List<dev.peft4j.api.spi.DatasetReader.Example> texts = new java.util.ArrayList<>();
        java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < 12; i++) {
            StringBuilder b = new StringBuilder();
            for (int w = 0, n = 2 + random.nextInt(6); w < n; w++) {
                b.append(TinySetup.FILLER.get(random.nextInt(TinySetup.FILLER.size()))).append(' ');
            }
            texts.add(new dev.peft4j.api.spi.DatasetReader.Example(java.util.Map.of("text", b.toString().strip()), "t:" + i));
        }
        TokenizedDataset data = TokenizedDataset.encode(texts, TinySetup.TOKENIZER, 16, dev.peft4j.runtime.data.TaskKind.CAUSAL_LM, null, true);
        try (NDManager manager = TinySetup.manager()) {
            dev.peft4j.models.llama.LlamaForCausalLM llama = dev.peft4j.models.llama.LlamaForCausalLM.random(
                    dev.peft4j.models.llama.LlamaConfig.fromMap(values), manager, 1);
            Teacher teacher = new Teacher(llama, null, "tiny llama");
            dev.peft4j.models.llama.LlamaForCausalLM studentModel = dev.peft4j.models.llama.LlamaForCausalLM.random(
                    dev.peft4j.models.llama.LlamaConfig.fromMap(values), manager, 2);
            TeacherCache[] cache = new TeacherCache[1];
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            cache[0] = TeacherCache.openOrBuild(dir.resolve("all.safetensors"), teacher, data, 5, 0, 64, new SafetensorsTensorFiles(),
                    new PrintStream(log, true, StandardCharsets.UTF_8));
            TeacherCache full = cache[0];
            TeacherCache top5 = TeacherCache.openOrBuild(dir.resolve("top5.safetensors"), teacher, data, 5, 0, 5, new SafetensorsTensorFiles(),
                    new PrintStream(log, true, StandardCharsets.UTF_8));
            // read back from its file: the same numbers
            TeacherCache reread = TeacherCache.openOrBuild(dir.resolve("top5.safetensors"), teacher, data, 5, 0, 5, new SafetensorsTensorFiles(),
                    new PrintStream(log, true, StandardCharsets.UTF_8));
            assertThat(log.toString(StandardCharsets.UTF_8)).contains("positions x top 64 of 64 logits").contains("positions x top 5 of 64 logits")
                    .contains("reusing " + dir.resolve("top5.safetensors"));
            assertThat(top5.perToken()).isTrue();
            // the file keeps each example's own positions only: rows = the sum of the lengths, not examples x max length
            int positions = data.encoded().stream().mapToInt(e -> e.length()).sum();
            int longest = data.encoded().stream().mapToInt(e -> e.length()).max().orElseThrow();
            assertThat(positions).isLessThan(12 * longest);
            SafetensorsTensorFiles st = new SafetensorsTensorFiles();
            try (NDManager read = manager.newSubManager()) {
                java.util.Map<String, NDArray> stored = st.read(dir.resolve("top5.safetensors"), read);
                assertThat(stored.get("top_values").getShape()).isEqualTo(new ai.djl.ndarray.types.Shape(positions, 5));
                assertThat(stored.get("top_indices").getShape()).isEqualTo(new ai.djl.ndarray.types.Shape(positions, 5));
                int[] offsets = stored.get("top_offsets").toIntArray();
                assertThat(offsets).hasSize(13).startsWith(0).endsWith(positions);
                // a file in the earlier layout (every example padded to the longest) is rebuilt, saying why
                java.util.Map<String, NDArray> padded = new java.util.LinkedHashMap<>();
                padded.put("top_values", read.zeros(new ai.djl.ndarray.types.Shape(12, longest, 5)));
                padded.put("top_indices", read.zeros(new ai.djl.ndarray.types.Shape(12, longest, 5), ai.djl.ndarray.types.DataType.INT32));
                st.write(dir.resolve("old.safetensors"), padded, st.metadata(dir.resolve("top5.safetensors")));
            }
            ByteArrayOutputStream oldLog = new ByteArrayOutputStream();
            TeacherCache rebuilt = TeacherCache.openOrBuild(dir.resolve("old.safetensors"), teacher, data, 5, 0, 5, st,
                    new PrintStream(oldLog, true, StandardCharsets.UTF_8));
            assertThat(oldLog.toString(StandardCharsets.UTF_8)).contains("is rebuilt: it keeps every example padded to " + longest + " positions");
            Batch batch = new Batcher(data, 4, 1, 0).trainingEpoch(5, 0).get(1);
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step);
                NDArray live = teacher.outputs(batch.input(step), false, ctx).head();
                int seq = batch.seqLength();
                float[] l = live.toFloatArray();
                float[] a = full.logits(batch, step).toFloatArray();
                float[] t5 = top5.logits(batch, step).toFloatArray();
                assertThat(reread.logits(batch, step).toFloatArray()).containsExactly(t5);
                assertThat(rebuilt.logits(batch, step).toFloatArray()).containsExactly(t5);
                NDArray labels = batch.labels(step);
                long[] y = labels.toLongArray();
                float[] s = studentModel.forward(batch.input(step), ctx).logits().toFloatArray();
                float temperature = 2f;
                double expected = 0;
                int counted = 0;
                for (int i = 0; i < batch.size(); i++) {
                    for (int t = 0; t < seq; t++) {
                        int row = (i * seq + t) * 64;
                        if (t < batch.examples().get(i).length()) {
                            for (int v = 0; v < 64; v++) {
                                assertThat(a[row + v]).isCloseTo(l[row + v], within(1e-5f));
                            }
                            // the top 5 of the live row, in place; everything else absent
                            float[] sorted = java.util.Arrays.copyOfRange(l, row, row + 64);
                            java.util.Arrays.sort(sorted);
                            float fifth = sorted[64 - 5];
                            int kept = 0;
                            for (int v = 0; v < 64; v++) {
                                if (t5[row + v] != TeacherCache.ABSENT) {
                                    kept++;
                                    assertThat(t5[row + v]).isCloseTo(l[row + v], within(1e-5f));
                                    assertThat(l[row + v]).isGreaterThanOrEqualTo(fifth - 1e-5f);
                                }
                            }
                            assertThat(kept).isEqualTo(5);
                        }
                        // the KL at this position predicts the label at t + 1 (shift), if that label counts
                        if (t + 1 < seq && y[i * seq + t + 1] >= 0) {
                            double maxT = Double.NEGATIVE_INFINITY;
                            double maxS = Double.NEGATIVE_INFINITY;
                            for (int v = 0; v < 64; v++) {
                                if (t5[row + v] != TeacherCache.ABSENT) {
                                    maxT = Math.max(maxT, t5[row + v] / temperature);
                                }
                                maxS = Math.max(maxS, s[row + v] / temperature);
                            }
                            double zt = 0;
                            double zs = 0;
                            for (int v = 0; v < 64; v++) {
                                if (t5[row + v] != TeacherCache.ABSENT) {
                                    zt += Math.exp(t5[row + v] / temperature - maxT);
                                }
                                zs += Math.exp(s[row + v] / temperature - maxS);
                            }
                            double kl = 0;
                            for (int v = 0; v < 64; v++) {
                                if (t5[row + v] != TeacherCache.ABSENT) {
                                    double logP = t5[row + v] / temperature - maxT - Math.log(zt);
                                    double logQ = s[row + v] / temperature - maxS - Math.log(zs);
                                    kl += Math.exp(logP) * (logP - logQ);
                                }
                            }
                            expected += kl;
                            counted++;
                        }
                    }
                }
                expected = expected / counted * temperature * temperature;
                NDArray studentLogits = step.create(s, live.getShape());
                float sparse = dev.peft4j.distillation.DistillationLosses.tokenKl(studentLogits, top5.logits(batch, step), labels, temperature, true, ctx)
                        .getFloat();
                assertThat((double) sparse).isCloseTo(expected, within(1e-5));
                float dense = dev.peft4j.distillation.DistillationLosses.tokenKl(studentLogits, live, labels, temperature, true, ctx).getFloat();
                float fromFull = dev.peft4j.distillation.DistillationLosses.tokenKl(studentLogits, full.logits(batch, step), labels, temperature, true, ctx)
                        .getFloat();
                assertThat(fromFull).isCloseTo(dense, within(1e-5f));
                assertThat(Math.abs(sparse - dense)).as("top 5 of 64 is not the full KL").isGreaterThan(1e-4f);
            }
        }
    }
}
