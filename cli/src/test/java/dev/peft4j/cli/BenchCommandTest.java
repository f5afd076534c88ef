package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.runtime.data.Batch;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bench's parts that are not timing: workload names, fixed-length batches, the median, VmHWM, the result line. */
class BenchCommandTest {
    @Test
    void workloadNamesParseOrFailWithTheValidForm() {
        assertThat(BenchCommand.Workload.parse("lora-16x64")).isEqualTo(new BenchCommand.Workload("lora-16x64", "lora", 16, 64));
        assertThat(BenchCommand.Workload.parse("full-32x128").seq()).isEqualTo(128);
        assertThat(BenchCommand.Workload.parse("prefix-16x64").method()).isEqualTo("prefix");
        for (String bad : List.of("lora-16", "bitfit-16x64", "full-0x64", "lora-16x1", "LORA-16x64")) {
            assertThatThrownBy(() -> BenchCommand.Workload.parse(bad)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("workload '" + bad + "' is not METHOD-BATCHxSEQ");
        }
    }

    /**
     * Every workload's method applies to the real all-MiniLM-L6-v2 and trains the same parameter count as HF PEFT on
     * BertForSequenceClassification (tools/bench/hf_peft_bench.py prints it; the 770 of the 2-class head included).
     */
    @Test
    void everyWorkloadTrainsThePeftParameterCount() throws Exception {
        java.util.Map<String, Long> expected = java.util.Map.of("lora", 74_498L, "ia3", 16_898L, "prefix", 92_930L, "prompt", 8_450L);
        String threads = System.getProperty(dev.peft4j.models.Engines.THREADS_PROPERTY);
        String cache = System.getProperty("peft4j.cache");
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        try {
            System.setProperty("peft4j.cache", Peft4jCliTest.CACHE);
            System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            for (String method : expected.keySet()) {
                java.io.StringWriter out = new java.io.StringWriter();
                var cli = Peft4jCli.commandLine();
                cli.setOut(new java.io.PrintWriter(out));
                assertThat(cli.execute("bench", "--workload", method + "-2x8", "--steps", "1", "--warmup", "0", "--phases"))
                        .as(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).isZero();
                assertThat(out.toString()).startsWith("workload=" + method + "-2x8 ms_per_step=");
            }
        } finally {
            System.setErr(err);
            restore(dev.peft4j.models.Engines.THREADS_PROPERTY, threads);
            restore("peft4j.cache", cache);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        expected.forEach((method, count) -> assertThat(log).contains("workload=" + method + "-2x8 trainable=" + count + " "));
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    void batchesHaveExactlyTheFixedLengthAndNoPadding() {
        List<Batch> batches = BenchCommand.batches(BenchCommand.Workload.parse("lora-3x8"), 30522, 2);
        assertThat(batches).hasSize(2);
        for (Batch b : batches) {
            assertThat(b.size()).isEqualTo(3);
            assertThat(b.seqLength()).isEqualTo(8);
            b.examples().forEach(e -> {
                assertThat(e.ids()).hasSize(8).startsWith(101L).endsWith(102L);
                assertThat(e.classId()).isBetween(0, 1);
            });
        }
    }

    @Test
    void medianLineAndPeakRss() {
        assertThat(BenchCommand.median(new long[] {5, 1, 3})).isEqualTo(3.0);
        assertThat(BenchCommand.median(new long[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(new BenchCommand.Result("lora-16x64", 251.04, 4079.3, 812).line())
                .isEqualTo("workload=lora-16x64 ms_per_step=251.0 tokens_per_s=4079 peak_rss_mb=812");
        assertThat(BenchCommand.peakRssMb()).isGreaterThan(0); // Linux: VmHWM of this JVM
    }

    @Test
    void dropoutOptionReplacesEveryModelDropout() {
        dev.peft4j.models.Engines.pytorch();
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager();
                dev.peft4j.models.bert.BertModel bert = dev.peft4j.models.bert.BertModel.random(
                        dev.peft4j.models.bert.BertConfig.of(30, 8, 2, 2, 16, 16), m, 1)) {
            // embeddings + per layer: attention probabilities, attention output, layer output
            assertThat(BenchCommand.setDropout(bert.module(), 0f)).isEqualTo(1 + 3 * 2);
            assertThat(bert.module().namedModules().values()).filteredOn(x -> x instanceof dev.peft4j.api.nn.Dropout)
                    .hasSize(7).allMatch(x -> ((dev.peft4j.api.nn.Dropout) x).rate() == 0f);
            ai.djl.ndarray.NDArray ids = m.create(new long[] {2, 5, 7, 3}, new ai.djl.ndarray.types.Shape(1, 4));
            ai.djl.ndarray.NDArray mask = m.ones(new ai.djl.ndarray.types.Shape(1, 4), ai.djl.ndarray.types.DataType.INT64);
            dev.peft4j.api.model.ModelInput input = new dev.peft4j.api.model.ModelInput(ids, mask, null, null);
            // rate 0: training mode gives the inference output
            float[] train = bert.forward(input, dev.peft4j.api.nn.ForwardContext.training(m)).lastHiddenState().toFloatArray();
            float[] infer = bert.forward(input, dev.peft4j.api.nn.ForwardContext.inference(m)).lastHiddenState().toFloatArray();
            assertThat(train).containsExactly(infer);
        }
    }
}
