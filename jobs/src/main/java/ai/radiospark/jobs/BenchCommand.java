package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import ai.radiospark.bench.RadioBenchmark;
import ai.radiospark.model.RandomCheckpoint;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code radio bench}: forward pass (float32 and bfloat16) against a PyTorch eager peer, the
 * engine's matmul peak, preprocessing against Pillow, the extract pipeline, and peak RSS, in one
 * run; with {@code --only native}, how full forward passes are with native sizes ({@link NativeBench}); with
 * {@code --only dedup}, the precision, recall and cost of {@code radio dedup} ({@link DedupBench}).
 * Figures are printed, never asserted; with {@code --json} the last line is one JSON object.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure forward (float32, bfloat16), matmul peak, preprocessing and the pipeline, with peers.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--shape",
            defaultValue = "base",
            description = "Random-weight model shape: tiny, base, large, huge " + "(default ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--batch-size", defaultValue = "8", description = "Images per forward (default ${DEFAULT-VALUE}).")
    int batchSize;

    /** The hidden old name of {@code --batch-size} ({@link OptionAlias}). */
    @Option(names = "--batch", hidden = true, paramLabel = "N")
    Integer batch;

    @Option(names = "--size", defaultValue = "224", description = "Square input side (default ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed forwards first (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(
            names = "--iterations",
            defaultValue = "3",
            description = "Timed forwards per round (default ${DEFAULT-VALUE}).")
    int iterations;

    @Option(
            names = "--rounds",
            defaultValue = "3",
            description = "Rounds, each timing float32, bfloat16 and the peer in turn (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--no-bf16", negatable = false, description = "Skip the bfloat16 forward.")
    boolean noBf16;

    @Option(names = "--no-peers", negatable = false, description = "Skip the PyTorch and Pillow peers.")
    boolean noPeers;

    @Option(
            names = "--preprocess-seconds",
            defaultValue = "5",
            description = "Seconds per preprocessing measurement (default ${DEFAULT-VALUE}).")
    double preprocessSeconds;

    @Option(
            names = "--image",
            description = "Image for the preprocessing figure (default: samples/images/china.jpg "
                    + "of the checkout scripts/radio runs from, else a synthetic 640x427 JPEG).")
    Path image;

    @Option(
            names = "--matmul-repeats",
            defaultValue = "3",
            description = "GEMMs per kernel and shape in each round (default " + "${DEFAULT-VALUE}; the best counts).")
    int matmulRepeats;

    @Option(
            names = "--pipeline-images",
            defaultValue = "256",
            description = "JPEGs for the pipeline figure (default ${DEFAULT-VALUE}; 0 skips it).")
    int pipelineImages;

    @Option(names = "--json", description = "End with one line holding every figure as JSON.")
    boolean json;

    /** The sections {@code --only} takes, in the order they run. */
    static final List<String> SECTIONS =
            List.of("forward", "forward_bf16", "preprocess", "pipeline", "native", "footprint", "dedup", "index");

    /**
     * The sections run without {@code --only}: native (a few minutes more), footprint (3 GB of disk and a few
     * minutes), dedup and index (minutes more each) run only when asked.
     */
    static final List<String> DEFAULT_SECTIONS = List.of("forward", "forward_bf16", "preprocess", "pipeline");

    @Option(
            names = "--only",
            split = ",",
            paramLabel = "SECTION",
            description = "Run only these sections, a comma list of: forward, forward_bf16 (runs with forward), "
                    + "preprocess, pipeline, native, footprint, dedup, index (default: all but native, footprint, dedup "
                    + "and index).")
    List<String> only;

    @Option(
            names = "--native-images",
            defaultValue = "512",
            description = "JPEGs per corpus of the native section (default ${DEFAULT-VALUE}; 0 skips it).")
    int nativeImages;

    @Option(
            names = "--native-batch-size",
            defaultValue = "16",
            description = "Batch size of the native section (default ${DEFAULT-VALUE}).")
    int nativeBatchSize;

    @Option(
            names = "--native-size",
            defaultValue = "512",
            description = "The native section's cap on the longer side, and its fixed size (default ${DEFAULT-VALUE}).")
    int nativeSize;

    @Option(
            names = "--footprint-shape",
            defaultValue = "huge",
            description = "Random-weight model shape of the footprint section (default ${DEFAULT-VALUE}: "
                    + "C-RADIOv4-H, 2.6 GB).")
    String footprintShape;

    @Option(
            names = "--footprint-images",
            defaultValue = "8",
            description = "JPEGs the footprint section's radio extract embeds (default ${DEFAULT-VALUE}).")
    int footprintImages;

    @Option(
            names = "--footprint-batch-size",
            defaultValue = "2",
            description = "The footprint section's --batch-size (default ${DEFAULT-VALUE}).")
    int footprintBatchSize;

    @Option(
            names = "--dedup-vectors",
            defaultValue = "50000",
            description = "Synthetic summaries of the dedup section, a tenth of them planted near-duplicates "
                    + "(default ${DEFAULT-VALUE}).")
    int dedupVectors;

    @Option(
            names = "--dedup-dim",
            defaultValue = "2560",
            description = "Floats per summary of the dedup section (default ${DEFAULT-VALUE}, C-RADIOv4-H's).")
    int dedupDim;

    @Option(
            names = "--dedup-clusters-per-image",
            defaultValue = "2",
            paramLabel = "N",
            description = "radio dedup --clusters-per-image of the dedup section (default ${DEFAULT-VALUE}).")
    int dedupClustersPerImage;

    @Option(
            names = "--index-vectors",
            defaultValue = "100000",
            description = "Synthetic vectors of the index section (default ${DEFAULT-VALUE}).")
    int indexVectors;

    @Option(
            names = "--index-dimension",
            defaultValue = "2560",
            description = "Their length (default ${DEFAULT-VALUE}, C-RADIOv4-H's summary).")
    int indexDimension;

    @Option(
            names = "--index-queries",
            defaultValue = "200",
            description = "Queries of the index section (default ${DEFAULT-VALUE}).")
    int indexQueries;

    @Option(
            names = "--index-rerank",
            defaultValue = "" + VectorIndex.DEFAULT_RERANK,
            description = "Candidates rescored exactly per query (default ${DEFAULT-VALUE}, as radio similar).")
    int indexRerank;

    @Option(
            names = "--index-data",
            defaultValue = "structured",
            paramLabel = "KIND",
            description = "Synthetic data of the index section: structured (clusters and sub-clusters varying in a "
                    + "few directions, as image embeddings) or isotropic (isotropic noise around the centroids, the "
                    + "worst case) (default ${DEFAULT-VALUE}).")
    String indexData;

    @Override
    public Integer call() throws Exception {
        OptionException.check("--shape", shape, () -> RandomCheckpoint.shape(shape)); // before any work
        batchSize = OptionAlias.value(spec, "--batch", batch, batchSize);
        OptionException.require(
                batchSize > 0, "--batch-size", batchSize, "Use a positive number of images per forward, " + "e.g. 8.");
        OptionException.require(
                size > 0 && size % 16 == 0,
                "--size",
                size,
                "Use a positive multiple of the patch size " + "16, e.g. 224.");
        OptionException.require(warmup >= 0, "--warmup", warmup, "Use 0 or more forwards.");
        OptionException.require(iterations > 0, "--iterations", iterations, "Use a positive number of forwards.");
        OptionException.require(rounds > 0, "--rounds", rounds, "Use a positive number of rounds.");
        OptionException.require(matmulRepeats > 0, "--matmul-repeats", matmulRepeats, "Use a positive number.");
        OptionException.require(
                preprocessSeconds > 0,
                "--preprocess-seconds",
                preprocessSeconds,
                "Use a positive " + "number of seconds.");
        Set<String> sections = new LinkedHashSet<>(only == null ? DEFAULT_SECTIONS : only);
        for (String section : sections) {
            OptionException.require(
                    SECTIONS.contains(section),
                    "--only",
                    String.join(",", sections),
                    "Unknown section '" + section + "'. Use a comma list of " + String.join(", ", SECTIONS) + ".");
        }
        OptionException.require(nativeImages >= 0, "--native-images", nativeImages, "Use 0 or more images.");
        OptionException.require(
                nativeBatchSize > 0, "--native-batch-size", nativeBatchSize, "Use a positive number, e.g. 16.");
        OptionException.require(
                nativeSize > 0 && nativeSize % 16 == 0,
                "--native-size",
                nativeSize,
                "Use a positive multiple of the patch size 16, e.g. 512.");
        OptionException.check("--footprint-shape", footprintShape, () -> RandomCheckpoint.shape(footprintShape));
        OptionException.require(
                footprintImages > 0, "--footprint-images", footprintImages, "Use a positive number of images.");
        OptionException.require(
                footprintBatchSize > 0, "--footprint-batch-size", footprintBatchSize, "Use a positive number, e.g. 2.");
        OptionException.require(dedupVectors >= 20, "--dedup-vectors", dedupVectors, "Use at least 20, e.g. 50000.");
        OptionException.require(dedupDim >= 2, "--dedup-dim", dedupDim, "Use at least 2, e.g. 2560.");
        OptionException.require(
                dedupClustersPerImage >= 1,
                "--dedup-clusters-per-image",
                dedupClustersPerImage,
                "Use 1 or more, e.g. 2.");
        OptionException.require(indexVectors >= 20, "--index-vectors", indexVectors, "Use at least 20 vectors.");
        OptionException.require(indexDimension >= 8, "--index-dimension", indexDimension, "Use at least 8 floats.");
        OptionException.require(
                indexQueries > 0 && indexQueries <= indexVectors,
                "--index-queries",
                indexQueries,
                "Use a positive number of queries, at most --index-vectors.");
        OptionException.require(
                indexRerank >= 10, "--index-rerank", indexRerank, "Use at least 10 (the k of recall@10).");
        OptionException.require(
                indexData.equals("structured") || indexData.equals("isotropic"),
                "--index-data",
                indexData,
                "Use structured or isotropic.");
        boolean forward = sections.contains("forward") || sections.contains("forward_bf16");
        boolean bf16 = only == null ? !noBf16 : sections.contains("forward_bf16");
        OptionAlias.warnIfUsed(spec);
        PrintWriter out = spec.commandLine().getOut();
        RadioBenchmark.Settings settings = new RadioBenchmark.Settings(
                shape,
                batchSize,
                size,
                warmup,
                iterations,
                rounds,
                bf16,
                !noPeers,
                preprocessSeconds,
                image != null ? image : defaultImage(),
                matmulRepeats);
        ObjectNode report = new RadioBenchmark(settings, out).run(forward, sections.contains("preprocess"));
        if (sections.contains("pipeline")) {
            pipeline(report);
        }
        if (sections.contains("native")) {
            if (nativeImages > 0) {
                new NativeBench(
                                JobSpark.session("radio bench", "local[*]"),
                                out,
                                "tiny",
                                nativeBatchSize,
                                nativeImages,
                                nativeSize)
                        .run(report);
            } else {
                report.putObject("native").put("status", "skipped");
            }
        }
        if (sections.contains("footprint")) {
            new FootprintBench(out, footprintShape, footprintImages, footprintBatchSize).run(report);
        }
        if (sections.contains("dedup")) {
            new DedupBench(
                            JobSpark.session("radio bench", "local[*]"),
                            out,
                            new DedupBench.Corpus(dedupVectors, dedupDim, 42),
                            dedupClustersPerImage)
                    .run(report);
        }
        if (sections.contains("index")) {
            int clusters = Math.max(1, Math.min(400, indexVectors / 250));
            IndexBench.Data data = IndexBench.Data.valueOf(indexData.toUpperCase(java.util.Locale.ROOT));
            new IndexBench(out, indexVectors, indexDimension, indexQueries, clusters, indexRerank, data).run(report);
        }
        report.put("rss_peak_mb", BenchFigures.rssPeakMb());
        summary(report, out);
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(report));
        }
        out.flush();
        return 0;
    }

    /** china.jpg (the image issue's reference photo) from the checkout that scripts/radio runs from, if any. */
    private static Path defaultImage() {
        String home = System.getProperty("radio.home");
        if (home != null) {
            Path china = Path.of(home, "samples", "images", "china.jpg");
            if (Files.isRegularFile(china)) {
                return china;
            }
        }
        return null;
    }

    /**
     * The whole extract job ({@link ExtractJob}, local Spark on every core) over
     * {@code --pipeline-images} distinct synthetic JPEGs with a random-weight model of the same
     * shape, batch size {@code --batch-size}, against the forward pass alone. Spark start-up is timed
     * apart and not counted.
     */
    private void pipeline(ObjectNode report) throws Exception {
        ObjectNode p = report.putObject("pipeline");
        if (pipelineImages <= 0) {
            p.put("status", "skipped");
            p.putNull("img_per_s");
            return;
        }
        PrintWriter log = spec.commandLine().getOut();
        Path root = Files.createTempDirectory("radio-bench-pipeline");
        try {
            Path model = root.resolve("model");
            RandomCheckpoint.write(RandomCheckpoint.shape(shape), model, 42);
            Path images = Files.createDirectories(root.resolve("images"));
            for (int i = 0; i < pipelineImages; i++) {
                BenchFigures.writeSyntheticJpeg(images.resolve(String.format("img%05d.jpg", i)), i);
            }
            log.printf(
                    "pipeline: radio extract of %d JPEGs (640x427) with the %s model, batch %d, local[*]%n",
                    pipelineImages, shape, batchSize);
            log.flush();
            CommandLine cl = new CommandLine(new ExtractCommand());
            cl.parseArgs(
                    "--input",
                    images.toString(),
                    "--output",
                    root.resolve("out").toString(),
                    "--model",
                    model.toString(),
                    "--size",
                    size + "x" + size,
                    "--batch-size",
                    Integer.toString(batchSize),
                    "--device",
                    "cpu",
                    "--progress-seconds",
                    "3600");
            ExtractOptions o = ((ExtractCommand) cl.getCommand()).options();
            long t0 = System.nanoTime();
            SparkSession spark = JobSpark.session("radio bench", "local[*]");
            double startup = (System.nanoTime() - t0) / 1e9;
            ExtractJob.Summary result;
            LongestStage longest = new LongestStage();
            spark.sparkContext().addSparkListener(longest);
            long t1 = System.nanoTime();
            try (PrintStream quiet = new PrintStream(OutputStream.nullOutputStream())) {
                result = new ExtractJob(spark, o, quiet).run();
            }
            double seconds = (System.nanoTime() - t1) / 1e9;
            double ips = result.embedded() / seconds;
            double stage = longest.ms / 1e3;
            p.put("images", pipelineImages)
                    .put("embedded", result.embedded())
                    .put("failed", result.failed())
                    .put("seconds", BenchFigures.round(seconds, 2))
                    .put("spark_startup_s", BenchFigures.round(startup, 2))
                    .put("img_per_s", BenchFigures.round(ips, 2))
                    // The embedding stage alone (decode + forward on every core, as Spark timed it), and the
                    // rest: listing, planning and code generation on a cold JVM, the Delta commit.
                    .put("embed_stage_s", BenchFigures.round(stage, 2))
                    .put("embed_stage_img_per_s", stage > 0 ? BenchFigures.round(result.embedded() / stage, 2) : 0)
                    .put("outside_stage_s", BenchFigures.round(seconds - stage, 2));
            double forward = report.path("forward").path("img_per_s").asDouble();
            if (forward > 0) {
                p.put("ratio_vs_forward", BenchFigures.round(ips / forward, 3));
                p.put(
                        "stage_ratio_vs_forward",
                        BenchFigures.round(p.path("embed_stage_img_per_s").asDouble() / forward, 3));
            }
        } finally {
            try (Stream<Path> w = Files.walk(root)) {
                w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** The longest completed stage's duration (the pipeline's embedding stage). */
    private static final class LongestStage extends org.apache.spark.scheduler.SparkListener {
        volatile long ms;

        @Override
        public void onStageCompleted(org.apache.spark.scheduler.SparkListenerStageCompleted done) {
            var info = done.stageInfo();
            if (info.submissionTime().isDefined() && info.completionTime().isDefined()) {
                long d = (Long) info.completionTime().get()
                        - (Long) info.submissionTime().get();
                if (d > ms) {
                    ms = d;
                }
            }
        }
    }

    /** The report's summary: a line (or two) per section the run measured, then the peak RSS. */
    private static void summary(ObjectNode r, PrintWriter out) {
        forwardSummary(r, out);
        preprocessSummary(r.path("preprocess"), out);
        pipelineSummary(r.path("pipeline"), out);
        nativeSummary(r.path("native"), r.path("native_buckets"), out);
        footprintSummary(r.path("footprint"), out);
        dedupSummary(r.path("dedup"), out);
        indexSummary(r.path("index"), out);
        out.printf("rss peak: %s MB%n", r.path("rss_peak_mb"));
    }

    private static void preprocessSummary(JsonNode p, PrintWriter out) {
        if (p.isMissingNode()) {
            return;
        }
        out.printf(
                "preprocess: %s img/s per core; peer: %s%n",
                p.path("img_per_s_per_core"),
                p.path("peer").isObject()
                        ? p.path("peer").path("img_per_s_per_core") + " img/s per core (ratio "
                                + p.path("ratio_vs_peer") + ")"
                        : "not available");
    }

    private static void nativeSummary(JsonNode n, JsonNode b, PrintWriter out) {
        if (!n.has("images_per_forward")) {
            return;
        }
        out.printf(
                "native: %s images per forward pass at batch %s (goal %s), %s img/s, %s tokens/s = %sx fixed "
                        + "%sx%s; native-buckets: %s images per pass (goal %s)%n",
                n.path("images_per_forward"),
                n.path("batch"),
                n.path("goal_images_per_forward"),
                n.path("img_per_s"),
                n.path("tokens_per_s"),
                n.path("tokens_per_s_vs_fixed"),
                n.path("cap"),
                n.path("cap"),
                b.path("images_per_forward"),
                b.path("goal_images_per_forward"));
    }

    private static void footprintSummary(JsonNode f, PrintWriter out) {
        if (f.isMissingNode()) {
            return;
        }
        out.printf(
                "footprint: radio extract peak RSS %s MB = %sx the %s MB of weights (goal %s), model build %s s, "
                        + "rerun %s s (goal %s)%n",
                f.path("peak_rss_mb"),
                f.path("peak_rss_vs_weights"),
                f.path("weights_mb"),
                f.path("goal_peak_rss_vs_weights"),
                f.path("model_build_s"),
                f.path("rerun_s"),
                f.path("goal_rerun_s"));
    }

    private static void dedupSummary(JsonNode d, PrintWriter out) {
        if (d.isMissingNode()) {
            return;
        }
        out.printf(
                "dedup: precision %s, recall %s (goal %s) at eps %s (cosine >= %s) over %s vectors of %s floats, "
                        + "%s s; %s pairs compared of %s (%s), %s planted pairs split by the %s clusters%n",
                d.path("precision"),
                d.path("recall"),
                d.path("goal"),
                d.path("eps"),
                d.path("threshold"),
                d.path("vectors"),
                d.path("dim"),
                d.path("seconds"),
                d.path("pairs_compared"),
                d.path("pairs_all"),
                d.path("pairs_fraction"),
                d.path("planted_split_by_clusters"),
                d.path("clusters"));
    }

    private static void indexSummary(JsonNode x, PrintWriter out) {
        if (!x.has("recall_at_10")) {
            return;
        }
        out.printf(
                "index: recall@10 %s (goal %s), median query %s ms (goal %s; CPU %s ms), build %s s (CPU %s s), "
                        + "%s bytes per vector on disk (raw %s; in memory %s), over %s vectors of %s floats%n",
                x.path("recall_at_10"),
                x.path("goal_recall_at_10"),
                x.path("query_ms_p50"),
                x.path("goal_query_ms_p50"),
                x.path("query_cpu_ms_p50"),
                x.path("build_s"),
                x.path("build_cpu_s"),
                x.path("bytes_per_vector"),
                x.path("raw_bytes_per_vector"),
                x.path("pq_bytes_per_vector"),
                x.path("vectors"),
                x.path("dimension"));
    }

    private static void forwardSummary(ObjectNode r, PrintWriter out) {
        if (!r.has("forward")) {
            return;
        }
        ObjectNode f = (ObjectNode) r.get("forward");
        out.printf(
                "forward float32: %s img/s (median of %d), model %s GFLOP/s, matmul peak %s GFLOP/s, "
                        + "efficiency %s (best forward / best peak %s); peer: %s%n",
                f.path("img_per_s"),
                f.path("ms").size(),
                f.path("model_gflops"),
                f.path("matmul_peak_gflops"),
                f.path("efficiency"),
                f.path("efficiency_best"),
                f.path("peer").isObject()
                        ? f.path("peer").path("img_per_s") + " img/s (ratio " + f.path("ratio_vs_peer")
                                + ", per CPU second " + f.path("cpu_ratio_vs_peer") + ")"
                        : "not available");
        if (r.has("forward_bf16")) {
            ObjectNode b = (ObjectNode) r.get("forward_bf16");
            out.printf(
                    "forward bfloat16: %s img/s, %sx float32, %sx peer float32 (per CPU second %s), summary cosine "
                            + "vs float32 %s, efficiency %s of the bf16 GEMM peak %s GFLOP/s%n",
                    b.path("img_per_s"),
                    b.path("speedup_vs_float32"),
                    b.path("ratio_vs_peer_float32").asText("n/a"),
                    b.path("cpu_ratio_vs_peer_float32").asText("n/a"),
                    b.path("cosine_vs_float32"),
                    b.path("efficiency"),
                    b.path("bf16_peak_gflops"));
            JsonNode parts = b.path("parts");
            if (parts.isObject()) {
                StringBuilder line = new StringBuilder();
                parts.properties().forEach(e -> {
                    if (e.getValue().isObject()) {
                        line.append(line.length() == 0 ? "" : ", ")
                                .append(e.getKey())
                                .append(' ')
                                .append(Math.round(
                                        100 * e.getValue().path("share").asDouble()))
                                .append('%');
                    }
                });
                out.printf(
                        "  its operators' time (profiled): %s; linears %s GFLOP/s, attention %s GFLOP/s%n",
                        line,
                        parts.path("linears").path("gflops"),
                        parts.path("attention").path("gflops"));
            }
        }
    }

    private static void pipelineSummary(JsonNode pl, PrintWriter out) {
        if (pl.isMissingNode()) {
            return;
        }
        out.printf(
                "pipeline: %s%n",
                pl.path("img_per_s").isNull()
                        ? pl.path("status").asText()
                        : pl.path("img_per_s") + " img/s over " + pl.path("embedded") + " images ("
                                + pl.path("ratio_vs_forward")
                                + "x forward alone; Spark start-up " + pl.path("spark_startup_s")
                                + " s not counted); embedding stage "
                                + pl.path("embed_stage_img_per_s") + " img/s (" + pl.path("stage_ratio_vs_forward")
                                + "x), "
                                + pl.path("outside_stage_s") + " s outside it");
    }
}
