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
        // forward_bf16.efficiency: against the bf16 GEMM peak, as forward.efficiency against float32's
        JsonNode bf16 = r.at("/forward_bf16/efficiency");
        assertTrue(bf16.isNumber() && bf16.asDouble() >= 0 && bf16.asDouble() < 1, r.toString());
        assertEquals(
                r.at("/forward_bf16/model_gflops").asDouble()
                        / r.at("/forward_bf16/bf16_peak_gflops").asDouble(),
                bf16.asDouble(),
                0.002,
                r.toString());
        // where its time goes: the profiled parts' shares add up to 1, the linears take some
        JsonNode parts = r.at("/forward_bf16/parts");
        double shares = 0;
        for (String part :
                new String[] {"linears", "attention", "layer_norm", "dtype_conversions", "residual", "other"}) {
            shares += parts.path(part).path("share").asDouble(-1);
        }
        assertEquals(1.0, shares, 0.01, parts.toString());
        assertTrue(parts.at("/linears/share").asDouble() > 0, parts.toString());
        assertTrue(parts.at("/attention/ms").asDouble() > 0, parts.toString());
        assertEquals("not available", r.at("/forward/peer").asText());
        // The GEMM peak's ViT-shaped product follows the batch: 2 images x 196 tokens.
        assertTrue(r.at("/forward/matmul/392x768x3072_onednn_f32_gflops").asDouble() > 0, r.toString());
        // native, footprint, dedup and index run only when asked
        assertTrue(
                r.path("native").isMissingNode()
                        && r.path("footprint").isMissingNode()
                        && r.path("dedup").isMissingNode()
                        && r.path("index").isMissingNode(),
                r.toString());
    }

    /**
     * {@code --only native}: just the native section, on a small corpus; images per forward pass agree with the
     * passes and the histogram, and the other sections do not run.
     */
    @Test
    void onlyNativeRunsTheNativeSection() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        int exit = cli.execute(
                "--only",
                "native",
                "--native-images",
                "48",
                "--native-batch-size",
                "8",
                "--native-size",
                "128",
                "--json");
        String text = out.toString().strip();
        assertEquals(0, exit, text);
        String[] lines = text.split("\n");
        JsonNode r = new ObjectMapper().readTree(lines[lines.length - 1]);
        for (String section : new String[] {"native", "native_buckets"}) {
            JsonNode n = r.get(section);
            assertEquals(48, n.path("images").asInt(), r.toString());
            assertEquals(8, n.path("batch").asInt(), r.toString());
            long passes = 0;
            long images = 0;
            for (var e :
                    (Iterable<java.util.Map.Entry<String, JsonNode>>) n.path("images_per_forward_histogram")::fields) {
                passes += e.getValue().asLong();
                images += Integer.parseInt(e.getKey()) * e.getValue().asLong();
            }
            assertEquals(48, images, r.toString());
            assertEquals(n.path("forward_passes").asLong(), passes, r.toString());
            assertEquals(
                    Math.round(100.0 * 48 / passes) / 100.0,
                    n.path("images_per_forward").asDouble(),
                    1e-9,
                    r.toString());
            assertTrue(
                    n.path("img_per_s").asDouble() > 0 && n.path("tokens_per_s").asDouble() > 0, r.toString());
            long sizedPasses = 0;
            int mostSizes = 0;
            for (var e : (Iterable<java.util.Map.Entry<String, JsonNode>>)
                    n.path("input_sizes_per_forward_histogram")::fields) {
                sizedPasses += e.getValue().asLong();
                mostSizes = Math.max(mostSizes, Integer.parseInt(e.getKey()));
            }
            assertEquals(passes, sizedPasses, r.toString());
            if (section.equals("native_buckets")) {
                // A pass shares one token count: one shape and its transpose (the longer side is the cap).
                assertTrue(mostSizes >= 1 && mostSizes <= 2, r.toString());
            }
        }
        // native-buckets: at most the 7 shapes
        assertTrue(r.at("/native_buckets/input_sizes").asInt() <= 7, r.toString());
        assertTrue(r.at("/native/tokens_per_s_vs_fixed").asDouble() > 0, r.toString());
        assertEquals(10, r.at("/native/source_sizes").asInt());
        assertTrue(r.path("forward").isMissingNode() && r.path("pipeline").isMissingNode(), r.toString());
        assertTrue(r.path("preprocess").isMissingNode(), r.toString());
    }

    /**
     * {@code --only footprint} on the tiny shape: two radio extract child JVMs, the first embeds every image and
     * reports its peak RSS and model build, the rerun embeds none; no other section runs.
     */
    @Test
    void onlyFootprintRunsExtractTwiceAsChildJvms() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        int exit = cli.execute(
                "--only",
                "footprint",
                "--footprint-shape",
                "tiny",
                "--footprint-images",
                "3",
                "--footprint-batch-size",
                "2",
                "--json");
        String text = out.toString().strip();
        assertEquals(0, exit, text);
        String[] lines = text.split("\n");
        JsonNode f = new ObjectMapper().readTree(lines[lines.length - 1]).get("footprint");
        assertEquals(3, f.path("embedded").asInt(), f.toString());
        assertEquals(0, f.path("rerun_embedded").asInt(), f.toString());
        // the tiny model's tensors: 1.3 MB of float32
        assertEquals(
                ai.radiospark.model.RandomCheckpoint.shape("tiny").parameterCount() * 4 / 1048576.0,
                f.path("weights_mb").asDouble(),
                0.06,
                f.toString());
        // a child JVM with Spark and libtorch: far more than this model, far less than the machine
        double peak = f.path("peak_rss_mb").asDouble();
        assertTrue(peak > 100 && peak < 16_000, f.toString());
        assertTrue(f.path("model_build_s").asDouble() > 0, f.toString());
        assertTrue(f.path("rerun_s").asDouble() > 0, f.toString());
        assertEquals(1.5, f.path("goal_peak_rss_vs_weights").asDouble(), f.toString());
        assertTrue(text.contains("footprint: radio extract peak RSS " + f.path("peak_rss_mb")), text);
    }

    /**
     * {@code --only dedup}: the dedup job on a small synthetic corpus (2,000 vectors of 64 floats, 200 planted pairs)
     * finds the planted pairs and only them, comparing fewer pairs than all; the other sections do not run.
     */
    @Test
    void onlyDedupRunsTheDedupSection() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        int exit = cli.execute("--only", "dedup", "--dedup-vectors", "2000", "--dedup-dim", "64", "--json");
        String text = out.toString().strip();
        assertEquals(0, exit, text);
        String[] lines = text.split("\n");
        JsonNode d = new ObjectMapper().readTree(lines[lines.length - 1]).get("dedup");
        assertEquals(2000, d.path("vectors").asInt(), d.toString());
        assertEquals(200, d.path("planted").asInt(), d.toString());
        assertEquals(0.96, d.path("threshold").asDouble(), 1e-12, d.toString());
        assertEquals(200, d.path("true_found").asInt(), d.toString());
        assertEquals(200, d.path("found").asInt(), d.toString());
        assertEquals(1.0, d.path("precision").asDouble(), d.toString());
        assertEquals(1.0, d.path("recall").asDouble(), d.toString());
        assertEquals(2000L * 1999 / 2, d.path("pairs_all").asLong(), d.toString());
        long compared = d.path("pairs_compared").asLong();
        assertTrue(compared > 0 && compared < d.path("pairs_all").asLong(), d.toString());
        assertTrue(d.path("seconds").asDouble() > 0, d.toString());
        assertTrue(text.contains("dedup: precision 1.0, recall 1.0 (goal 0.99) at eps 0.04 (cosine >= 0.96)"), text);
    }

    /**
     * {@code --only index}: just the index section, smaller than its default 100,000 vectors: the
     * issue's keys, and recall@10 at its goal (the figures at 100,000 are in the README).
     */
    @Test
    void onlyIndexRunsTheIndexSection() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        int exit = cli.execute(
                "--only",
                "index",
                "--index-vectors",
                "1500",
                "--index-dimension",
                "64",
                "--index-queries",
                "20",
                "--json");
        String text = out.toString().strip();
        assertEquals(0, exit, text);
        String[] lines = text.split("\n");
        JsonNode r = new ObjectMapper().readTree(lines[lines.length - 1]);
        JsonNode x = r.get("index");
        assertEquals(1500, x.path("vectors").asInt(), r.toString());
        assertEquals(64, x.path("dimension").asInt(), r.toString());
        assertEquals(256, x.path("raw_bytes_per_vector").asInt(), r.toString());
        assertTrue(x.path("product_quantised").asBoolean(), r.toString());
        assertEquals(8, x.path("pq_bytes_per_vector").asInt(), r.toString());
        assertTrue(x.path("recall_at_10").asDouble() >= 0.95, r.toString());
        assertTrue(x.path("query_ms_p50").asDouble() > 0 && x.path("build_s").asDouble() > 0, r.toString());
        assertTrue(x.path("bytes_per_vector").asDouble() > 256, r.toString()); // the exact vectors are kept
        assertTrue(r.path("forward").isMissingNode() && r.path("native").isMissingNode(), r.toString());
    }

    @Test
    void unknownSectionIsRefused() {
        StringWriter err = new StringWriter();
        CommandLine cli = RadioCli.withErrorContract(new CommandLine(new BenchCommand()));
        cli.setErr(new PrintWriter(err));
        cli.setOut(new PrintWriter(new StringWriter()));
        int exit = cli.execute("--only", "native,gpu");
        assertEquals(2, exit, err.toString());
        assertTrue(
                err.toString()
                        .contains(
                                "Invalid value for option '--only' (native,gpu): Unknown section 'gpu'. Use a comma list of "
                                        + "forward, forward_bf16, preprocess, pipeline, native, footprint, dedup, "
                                        + "index."),
                err.toString());
    }
}
