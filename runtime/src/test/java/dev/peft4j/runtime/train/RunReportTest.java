package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RunReportTest {
    @Test
    void yTicksShareOneFormatPerAxis() {
        // learning rates: every tick scientific (not 5.2e-04 beside 0.00105)
        assertThat(List.of(RunReport.tick(0, 0, 0.0021), RunReport.tick(5.25e-4, 0, 0.0021), RunReport.tick(0.0021, 0, 0.0021)))
                .containsExactly("0.00e+00", "5.25e-04", "2.10e-03");
        // accuracies 0.828 .. 0.883: a quarter of the span is 0.014, so three decimals tell ticks apart
        assertThat(RunReport.tick(0.8418, 0.828, 0.883)).isEqualTo("0.842");
        assertThat(RunReport.tick(0.5, 0.125, 0.731)).isEqualTo("0.50");
        assertThat(RunReport.tick(1500, 0, 4000)).isEqualTo("1500");
    }

    @Test
    void chartsHaveWholeStepTicksAndTheCurves() {
        List<JsonObject> lines = new ArrayList<>();
        for (int step = 10; step <= 4210; step += 10) {
            lines.add(JsonParser.parseString("{\"type\":\"train\",\"step\":" + step + ",\"loss\":" + (1.0 / step) + ",\"learning_rate\":0.001}")
                    .getAsJsonObject());
        }
        lines.add(JsonParser.parseString("{\"type\":\"eval\",\"step\":4210,\"accuracy\":0.88,\"loss\":0.3}").getAsJsonObject());
        Map<String, Double> metrics = new LinkedHashMap<>(Map.of("accuracy", 0.88));
        String html = RunReport.render(lines, new RunReport.Summary("sst2", "lora", "sequence-classification", 74_498, 22_639_874, metrics,
                "accuracy", Map.of("train", "757 s"), "train.epochs = 2"));
        assertThat(html).contains("<svg", "training loss", "eval accuracy", "74,498", "22,639,874", "train.epochs = 2", "accuracy (selection)");
        Matcher xTicks = Pattern.compile("text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">([^<]+)</text>").matcher(html);
        List<String> ticks = new ArrayList<>();
        while (xTicks.find()) {
            ticks.add(xTicks.group(1));
        }
        assertThat(ticks).contains("10", "1060", "4210").doesNotContain("10.0");
    }
}
