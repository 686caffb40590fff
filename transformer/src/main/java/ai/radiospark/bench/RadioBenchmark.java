package ai.radiospark.bench;

import static ai.radiospark.bench.BenchFigures.cosine;
import static ai.radiospark.bench.BenchFigures.deleteTree;
import static ai.radiospark.bench.BenchFigures.fmt;
import static ai.radiospark.bench.BenchFigures.loadAverage;
import static ai.radiospark.bench.BenchFigures.median;
import static ai.radiospark.bench.BenchFigures.round;
import static ai.radiospark.bench.BenchFigures.rounded;
import static ai.radiospark.bench.BenchFigures.rssPeakMb;
import static ai.radiospark.bench.BenchFigures.writeSyntheticJpeg;

import ai.radiospark.image.PreprocessBenchmark;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.model.RandomCheckpoint;
import ai.radiospark.model.TorchEngine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What {@code radio bench} measures, in one run: the forward pass in float32 and bfloat16 (images
 * per second, against a PyTorch eager peer timed in interleaved rounds so that both see the same
 * machine load), the engine's float32 matmul peak and the forward's efficiency against it, image
 * preprocessing per core (against Pillow), and peak RSS. No Spark here; the pipeline figure is
 * added by the caller.
 *
 * <p>Figures are medians over every timed iteration of every round; ratios to the peer are
 * ratios of medians measured in the same rounds.
 */
public final class RadioBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final com.sun.management.OperatingSystemMXBean OS = (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** What to run. */
    public record Settings(
            String shape,
            int batch,
            int size,
            int warmup,
            int iterations,
            int rounds,
            boolean bf16,
            boolean peers,
            double preprocessSeconds,
            Path image,
            int matmulRepeats) {

        public static Settings defaults() {
            return new Settings("base", 8, 224, 2, 3, 3, true, true, 5.0, null, 3);
        }
    }

    private final Settings s;
    private final PrintWriter log;

    public RadioBenchmark(Settings settings, PrintWriter log) {
        this.s = settings;
        this.log = log;
    }

    /** FLOPs of one image's forward: 2·L·(12·N·d² + 2·N²·d) (matmuls only; N tokens incl. prefix). */
    public static double flopsPerImage(RadioConfig c, int tokens) {
        double d = c.hiddenSize();
        double n = tokens;
        double mlp = c.mlpHiddenSize();
        // qkv 3d², proj d², MLP 2·d·mlp (= 8d² for ratio 4): 12·N·d² in the formula
        return 2.0 * c.numHiddenLayers() * (n * (4 * d * d + 2 * d * mlp) + 2 * n * n * d);
    }

    /** Runs everything but the pipeline; returns the JSON report. */
    public ObjectNode run() {
        return run(true, true);
    }

    /** Runs the forward pass (with bfloat16 when the settings say so) and preprocessing, if asked; returns the report. */
    public ObjectNode run(boolean forward, boolean preprocess) {
        ObjectNode report = JSON.createObjectNode();
        ObjectNode machine = report.putObject("machine");
        machine.put("cores", Runtime.getRuntime().availableProcessors());
        machine.put("load_average_before", loadAverage());
        if (forward) {
            forward(report);
        }
        if (preprocess) {
            preprocess(report);
        }
        report.put("rss_peak_mb", rssPeakMb());
        machine.put("load_average_after", loadAverage());
        return report;
    }

    private void forward(ObjectNode report) {
        RadioConfig c = RandomCheckpoint.shape(s.shape());
        int p = c.patchSize();
        int rows = s.size() / p;
        int tokens = c.prefixTokens() + rows * rows;
        double flops = flopsPerImage(c, tokens);
        Path dir = null;
        ObjectNode f = report.putObject("forward");
        ObjectNode fb = s.bf16() ? report.putObject("forward_bf16") : null;
        try {
            dir = Files.createTempDirectory("radio-bench-" + s.shape());
            RandomCheckpoint.write(c, dir, 42);
            RadioWeights w = Checkpoint.open(dir).weights();
            float[] px = new float[s.batch() * 3 * s.size() * s.size()];
            SplittableRandom r = new SplittableRandom(7);
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) r.nextDouble();
            }
            TorchEngine.ensureLoaded();
            int threads = TorchEngine.intraOpThreads();
            f.put("shape", s.shape())
                    .put("image_size", s.size())
                    .put("batch", s.batch())
                    .put("tokens", tokens)
                    .put("threads", threads)
                    .put("interop_threads", TorchEngine.interOpThreads())
                    .put("gflop_per_image", flops / 1e9);
            log.printf(
                    "forward: %s (d=%d, %d layers, %d heads), %dx%d, batch %d, %d tokens, %d torch threads%n",
                    s.shape(),
                    c.hiddenSize(),
                    c.numHiddenLayers(),
                    c.numAttentionHeads(),
                    s.size(),
                    s.size(),
                    s.batch(),
                    tokens,
                    threads);
            log.flush();
            GemmPeak gemm = new GemmPeak(s.batch(), s.matmulRepeats());
            TorchPeer peer = s.peers()
                    ? TorchPeer.start(
                            c.hiddenSize(),
                            c.numHiddenLayers(),
                            c.numAttentionHeads(),
                            c.mlpHiddenSize(),
                            tokens,
                            s.batch(),
                            Runtime.getRuntime().availableProcessors())
                    : null;
            try (RadioModel m32 = RadioModel.builder().build(w);
                    RadioModel m16 = s.bf16()
                            ? RadioModel.builder().optDType(ModelDType.BFLOAT16).build(w)
                            : null) {
                EnumSet<RadioModel.Output> summary = EnumSet.of(RadioModel.Output.SUMMARY);
                float[] ref =
                        m32.forward(px, s.batch(), s.size(), s.size(), summary).summary();
                if (m16 != null) {
                    float[] got = m16.forward(px, s.batch(), s.size(), s.size(), summary)
                            .summary();
                    fb.put("cosine_vs_float32", cosine(ref, got));
                    fb.put("min_image_cosine_vs_float32", ai.radiospark.Cosine.lowestPerImage(ref, got, s.batch()));
                }
                for (int i = 1; i < s.warmup(); i++) {
                    m32.forward(px, s.batch(), s.size(), s.size(), summary);
                    if (m16 != null) {
                        m16.forward(px, s.batch(), s.size(), s.size(), summary);
                    }
                }
                List<Double> t32 = new ArrayList<>();
                List<Double> t16 = new ArrayList<>();
                List<Double> tPeer = new ArrayList<>();
                List<Double> c32 = new ArrayList<>();
                List<Double> c16 = new ArrayList<>();
                List<Double> cPeer = new ArrayList<>();
                for (int round = 0; round < s.rounds(); round++) {
                    int from32 = t32.size();
                    int from16 = t16.size();
                    int fromPeer = tPeer.size();
                    time(() -> m32.forward(px, s.batch(), s.size(), s.size(), summary), t32, c32);
                    if (m16 != null) {
                        time(() -> m16.forward(px, s.batch(), s.size(), s.size(), summary), t16, c16);
                    }
                    if (peer != null) {
                        peer.time(s.iterations(), tPeer, cPeer);
                    }
                    gemm.round();
                    log.printf(
                            Locale.ROOT,
                            "  round %d: float32 %s ms%s%s%n",
                            round + 1,
                            fmt(t32.subList(from32, t32.size())),
                            m16 == null ? "" : ", bfloat16 " + fmt(t16.subList(from16, t16.size())),
                            peer == null ? "" : ", torch eager float32 " + fmt(tPeer.subList(fromPeer, tPeer.size())));
                    log.printf(
                            Locale.ROOT,
                            "           GEMM peak float32 %.0f GFLOP/s, bfloat16 %.0f GFLOP/s%n",
                            gemm.peak32.get(round),
                            gemm.peak16s.get(round));
                    log.flush();
                }
                double ips32 = s.batch() * 1000 / median(t32);
                f.put("img_per_s", round(ips32, 2))
                        .put("median_ms", round(median(t32), 1))
                        .put("best_ms", round(Collections.min(t32), 1))
                        .set("ms", JSON.valueToTree(rounded(t32)));
                f.put("img_per_cpu_s", round(s.batch() / median(c32), 3));
                double gflops = ips32 * flops / 1e9;
                double peak = median(gemm.peak32);
                double peak16 = median(gemm.peak16s);
                ObjectNode mm = f.putObject("matmul");
                gemm.best.forEach((k, v) -> mm.put(k, round(v, 1)));
                mm.set("float32_peak_per_round", JSON.valueToTree(rounded(gemm.peak32)));
                mm.set("bf16_peak_per_round", JSON.valueToTree(rounded(gemm.peak16s)));
                f.put("matmul_peak_gflops", round(peak, 1));
                f.put("matmul_peak_bf16_gflops", round(peak16, 1));
                f.put("model_gflops", round(gflops, 1));
                // Medians of forwards and of per-round GEMM peaks: both under the same load.
                f.put("efficiency", round(gflops / peak, 3));
                f.put(
                        "efficiency_best",
                        round(s.batch() * 1000 / Collections.min(t32) * flops / 1e9 / Collections.max(gemm.peak32), 3));
                Double peerIps = null;
                if (peer != null) {
                    peerIps = s.batch() * 1000 / median(tPeer);
                    ObjectNode pn = f.putObject("peer");
                    pn.put("impl", "PyTorch eager nn.Module ViT, float32, inference_mode");
                    pn.setAll((ObjectNode) peer.info());
                    pn.remove("ready");
                    pn.put("img_per_s", round(peerIps, 2))
                            .put("median_ms", round(median(tPeer), 1))
                            .set("ms", JSON.valueToTree(rounded(tPeer)));
                    pn.put("img_per_cpu_s", round(s.batch() / median(cPeer), 3));
                    f.put("ratio_vs_peer", round(ips32 / peerIps, 3));
                    f.put("cpu_ratio_vs_peer", round(median(cPeer) / median(c32), 3));
                } else {
                    f.put("peer", "not available");
                }
                if (m16 != null) {
                    double ips16 = s.batch() * 1000 / median(t16);
                    fb.put("img_per_s", round(ips16, 2))
                            .put("median_ms", round(median(t16), 1))
                            .put("best_ms", round(Collections.min(t16), 1))
                            .set("ms", JSON.valueToTree(rounded(t16)));
                    fb.put("img_per_cpu_s", round(s.batch() / median(c16), 3));
                    fb.put("speedup_vs_float32", round(ips16 / ips32, 3));
                    // As forward.efficiency, against the bf16 GEMM peak: medians of forwards and of per-round peaks.
                    fb.put("efficiency", round(ips16 * flops / 1e9 / peak16, 3));
                    fb.put(
                            "efficiency_best",
                            round(
                                    s.batch()
                                            * 1000
                                            / Collections.min(t16)
                                            * flops
                                            / 1e9
                                            / Collections.max(gemm.peak16s),
                                    3));
                    fb.put("model_gflops", round(ips16 * flops / 1e9, 1));
                    fb.put("bf16_peak_gflops", round(peak16, 1));
                    // Where the time goes: operators' self times under libtorch's profiler, after the timed rounds.
                    fb.set(
                            "parts",
                            ForwardProfile.parts(
                                    ForwardProfile.profile(
                                            () -> m16.forward(px, s.batch(), s.size(), s.size(), summary),
                                            Math.max(2, s.iterations())),
                                    s.batch() * ForwardProfile.linearFlopsPerImage(c, tokens),
                                    s.batch() * ForwardProfile.attentionFlopsPerImage(c, tokens)));
                    if (peerIps != null) {
                        fb.put("ratio_vs_peer_float32", round(ips16 / peerIps, 3));
                        fb.put("cpu_ratio_vs_peer_float32", round(median(cPeer) / median(c16), 3));
                    }
                }
            } finally {
                gemm.close();
                if (peer != null) {
                    peer.close();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(dir);
        }
    }

    /** Times {@code iterations} runs: wall milliseconds and process CPU seconds (load-robust) of each. */
    private void time(Runnable r, List<Double> ms, List<Double> cpu) {
        for (int i = 0; i < s.iterations(); i++) {
            long c = OS.getProcessCpuTime();
            long t = System.nanoTime();
            r.run();
            ms.add((System.nanoTime() - t) / 1e6);
            cpu.add((OS.getProcessCpuTime() - c) / 1e9);
        }
    }

    private void preprocess(ObjectNode report) {
        try {
            Path image = s.image();
            Path tmp = null;
            if (image == null) {
                tmp = Files.createTempFile("radio-bench", ".jpg");
                writeSyntheticJpeg(tmp);
                image = tmp;
            }
            try {
                log.printf(
                        "preprocess: %s, 224x224 bicubic, %.1f s per measurement%n",
                        s.image() == null ? "synthetic 640x427 JPEG" : image, s.preprocessSeconds());
                log.flush();
                JsonNode p = JSON.readTree(PreprocessBenchmark.measure(image, s.preprocessSeconds(), s.peers()));
                ObjectNode out = report.putObject("preprocess");
                out.setAll((ObjectNode) p);
                JsonNode peer = p.get("peer");
                if (peer != null && peer.has("img_per_s_per_core")) {
                    out.put(
                            "ratio_vs_peer",
                            round(
                                    p.get("img_per_s_per_core").asDouble()
                                            / peer.get("img_per_s_per_core").asDouble(),
                                    3));
                }
            } finally {
                if (tmp != null) {
                    Files.deleteIfExists(tmp);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
