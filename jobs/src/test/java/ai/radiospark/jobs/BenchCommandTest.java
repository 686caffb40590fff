package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Correctness only: {@code radio bench --json} on a tiny shape prints one JSON object with every key. */
class BenchCommandTest {
    @Test
    void jsonHasEveryFigure() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        int exit = cli.execute(
                "--shape",
                "tiny",
                "--batch-size",
                "2",
                "--size",
                "64",
                "--warmup",
                "1",
                "--iterations",
                "1",
                "--rounds",
                "1",
                "--no-peers",
                "--preprocess-seconds",
                "0.2",
                "--matmul-repeats",
                "1",
                "--pipeline-images",
                "4",
                "--json");
        String text = out.toString().strip();
        assertEquals(0, exit, text);
        String[] lines = text.split("\n");
        JsonNode r = new ObjectMapper().readTree(lines[lines.length - 1]);
        // The tiny model's efficiency is a few ten-thousandths of the GEMM peak: rounded to 3 digits it can be 0.
        JsonNode efficiency = r.at("/forward/efficiency");
        assertTrue(efficiency.isNumber() && efficiency.asDouble() >= 0 && efficiency.asDouble() < 1, r.toString());
        for (String key : new String[] {
            "forward.img_per_s",
            "forward.matmul_peak_gflops",
            "forward_bf16.img_per_s",
            "forward_bf16.cosine_vs_float32",
            "preprocess.img_per_s_per_core",
            "pipeline.img_per_s",
            "rss_peak_mb"
        }) {
            JsonNode v = r.at("/" + key.replace('.', '/'));
            assertTrue(v.isNumber() && v.asDouble() > 0, key + " in " + r);
        }
        assertEquals(4, r.at("/pipeline/embedded").asInt(), r.toString());
        double stage = r.at("/pipeline/embed_stage_s").asDouble();
        double all = r.at("/pipeline/seconds").asDouble();
        assertTrue(stage > 0 && stage <= all, r.toString());
        assertEquals(all - stage, r.at("/pipeline/outside_stage_s").asDouble(), 0.02, r.toString());
        assertTrue(r.at("/forward_bf16/cosine_vs_float32").asDouble() > 0.99, r.toString());
        assertEquals("not available", r.at("/forward/peer").asText());
        // The GEMM peak's ViT-shaped product follows the batch: 2 images x 196 tokens.
        assertTrue(r.at("/forward/matmul/392x768x3072_onednn_f32_gflops").asDouble() > 0, r.toString());
    }
}
