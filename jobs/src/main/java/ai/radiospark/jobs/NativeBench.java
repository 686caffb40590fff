package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import ai.radiospark.ml.EmbedderMetrics;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RandomCheckpoint;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code radio bench --only native}: how full the forward passes are with native sizes (issue 17).
 * RadioEmbedder on one partition of generated JPEGs with a random-weight model, batch 16 by default:
 *
 * <ul>
 *   <li>{@code native}: exact native mode at the cap {@code --native-size} over photos of 10 common
 *       sizes ({@link #SOURCE_SIZES}) in random order; images per forward pass (mean, histogram), input
 *       sizes per pass (histogram: a pass takes one token count, e.g. a size and its transpose), and
 *       images and tokens per second against {@code fixed} at cap x cap over the same files.
 *   <li>{@code native_buckets}: native-buckets mode over the same 10 sizes, each side of each photo
 *       jittered by up to ±40 px.
 * </ul>
 *
 * The model is built (and JIT-warmed) before the timed runs.
 */
final class NativeBench {
    /** Width x height of the generated photos: common camera, phone, screen and web sizes. */
    static final int[][] SOURCE_SIZES = {
        {640, 480}, {480, 640}, {1024, 768}, {1200, 675}, {333, 500},
        {500, 333}, {800, 800}, {1280, 720}, {720, 1280}, {600, 400}
    };

    private static final StructType SCHEMA =
            new StructType().add("id", DataTypes.LongType, false).add("content", DataTypes.BinaryType, false);

    private final SparkSession spark;
    private final PrintWriter log;
    private final String shape;
    private final int batch;
    private final int images;
    private final int cap;

    NativeBench(SparkSession spark, PrintWriter log, String shape, int batch, int images, int cap) {
        this.spark = spark;
        this.log = log;
        this.shape = shape;
        this.batch = batch;
        this.images = images;
        this.cap = cap;
    }

    /** Runs both corpora and puts {@code native} and {@code native_buckets} into {@code report}. */
    void run(ObjectNode report) throws IOException {
        Path root = Files.createTempDirectory("radio-bench-native");
        try {
            RadioConfig c = RandomCheckpoint.shape(shape);
            Path model = root.resolve("model");
            RandomCheckpoint.write(c, model, 42);
            List<Row> exact = corpus(0, 11);
            List<Row> jittered = corpus(40, 12);
            log.printf(
                    "native: %d JPEGs of %d sizes (and the same jittered by ±40 px), %s model, batch %d, cap %d, "
                            + "one partition%n",
                    images, SOURCE_SIZES.length, shape, batch, cap);
            log.flush();
            // Warm-up: the model built and the forward JIT-compiled at the sizes the runs use.
            measure(model, "fixed", exact.subList(0, Math.min(exact.size(), 2 * batch)), c);
            measure(model, "native", exact.subList(0, Math.min(exact.size(), 2 * batch)), c);
            Run fixed = measure(model, "fixed", exact, c);
            Run nat = measure(model, "native", exact, c);
            Run buckets = measure(model, "native-buckets", jittered, c);
            ObjectNode n = report.putObject("native");
            put(n, nat);
            n.put("source_sizes", SOURCE_SIZES.length)
                    .put("goal_images_per_forward", 0.75 * batch)
                    .put("fixed_img_per_s", BenchFigures.round(fixed.imgPerS(), 2))
                    .put("fixed_tokens_per_s", Math.round(fixed.tokensPerS()))
                    .put(
                            "fixed_images_per_forward",
                            BenchFigures.round(fixed.metrics().imagesPerForward(), 2))
                    .put("tokens_per_s_vs_fixed", BenchFigures.round(nat.tokensPerS() / fixed.tokensPerS(), 3));
            ObjectNode b = report.putObject("native_buckets");
            put(b, buckets);
            b.put("source_sizes", SOURCE_SIZES.length).put("jitter_px", 40).put("goal_images_per_forward", 0.9 * batch);
        } finally {
            try (Stream<Path> w = Files.walk(root)) {
                w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private void put(ObjectNode o, Run r) {
        EmbedderMetrics m = r.metrics();
        o.put("images", r.images())
                .put("batch", batch)
                .put("cap", cap)
                .put("input_sizes", r.inputSizes())
                .put("forward_passes", m.forwardPasses())
                .put("images_per_forward", BenchFigures.round(m.imagesPerForward(), 2));
        ObjectNode h = o.putObject("images_per_forward_histogram");
        for (Map.Entry<Integer, Long> e : m.imagesPerForwardHistogram().entrySet()) {
            h.put(Integer.toString(e.getKey()), e.getValue());
        }
        ObjectNode sizes = o.putObject("input_sizes_per_forward_histogram");
        for (Map.Entry<Integer, Long> e : m.inputSizesPerForwardHistogram().entrySet()) {
            sizes.put(Integer.toString(e.getKey()), e.getValue());
        }
        o.put("seconds", BenchFigures.round(r.seconds(), 2))
                .put("img_per_s", BenchFigures.round(r.imgPerS(), 2))
                .put("tokens_per_s", Math.round(r.tokensPerS()));
    }

    /** One timed transform: its metrics, distinct input sizes, seconds and tokens (prefix tokens included). */
    private record Run(int images, EmbedderMetrics metrics, int inputSizes, double seconds, long tokens) {
        double imgPerS() {
            return images / seconds;
        }

        double tokensPerS() {
            return tokens / seconds;
        }
    }

    private Run measure(Path model, String mode, List<Row> rows, RadioConfig c) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> in = spark.createDataFrame(jsc.parallelize(rows, 1), SCHEMA);
        RadioEmbedder e = new RadioEmbedder()
                .setModel(model.toString())
                .setDevice("cpu")
                .setBatchSize(batch)
                .setResizeMode(mode)
                .setImageSize(cap)
                .setImageInfoCol("info");
        long t0 = System.nanoTime();
        List<Row> out = e.transform(in)
                .selectExpr("info.inputHeight", "info.inputWidth", "error")
                .collectAsList();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        Set<List<Integer>> sizes = new HashSet<>();
        for (Row r : out) {
            if (!r.isNullAt(2)) {
                throw new IllegalStateException("radio bench: a generated image failed: " + r.getString(2));
            }
            int h = r.getInt(0);
            int w = r.getInt(1);
            sizes.add(List.of(h, w));
            tokens += c.prefixTokens() + (long) (h / c.patchSize()) * (w / c.patchSize());
        }
        EmbedderMetrics m = e.getLastMetrics();
        log.printf(
                "native: %-14s %d images, %d input sizes, %d forward passes, %.2f images per pass %s (input sizes "
                        + "per pass %s), %.2f s, %.1f img/s, %.0f tokens/s%n",
                mode,
                out.size(),
                sizes.size(),
                m.forwardPasses(),
                m.imagesPerForward(),
                m.imagesPerForwardHistogram(),
                m.inputSizesPerForwardHistogram(),
                seconds,
                out.size() / seconds,
                tokens / seconds);
        log.flush();
        return new Run(out.size(), m, sizes.size(), seconds, tokens);
    }

    /** {@code images} JPEGs, each of a source size drawn at random, its sides jittered by up to ±{@code jitter}. */
    private List<Row> corpus(int jitter, long seed) throws IOException {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>(images);
        for (int i = 0; i < images; i++) {
            int[] s = SOURCE_SIZES[r.nextInt(SOURCE_SIZES.length)];
            int w = s[0] + (jitter == 0 ? 0 : r.nextInt(2 * jitter + 1) - jitter);
            int h = s[1] + (jitter == 0 ? 0 : r.nextInt(2 * jitter + 1) - jitter);
            rows.add(RowFactory.create((long) i, jpeg(w, h, r.nextLong())));
        }
        return rows;
    }

    /** A smooth gradient with a little noise: photo-like enough for the JPEG decoder, small files. */
    static byte[] jpeg(int width, int height, long seed) throws IOException {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int base = r.nextInt(0x1000000);
        int[] line = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int red = ((base >> 16) + x * 255 / width) & 0xff;
                int green = ((base >> 8) + y * 255 / height) & 0xff;
                int blue = (base + (x + y) / 4 + r.nextInt(8)) & 0xff;
                line[x] = red << 16 | green << 8 | blue;
            }
            img.setRGB(0, y, width, 1, line, 0, width);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }
}
