package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Size buckets kept across a partition ({@link BatchScheduler}, {@link ai.radiospark.runtime.SizeBuckets}): the
 * same embeddings as batch 1, every row once, images per forward pass in the metrics, and memory bounded over
 * 2,000 images of 50 sizes in one partition.
 */
class SizeBucketsEmbedderTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkTestSupport.localSession("SizeBucketsEmbedderTest");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /**
     * The golden images three times over, shuffled, in native mode at batch 4: buckets span decoded batches (fewer
     * passes than grouping each batch by size), and every embedding is batch 1's within the golden tolerances.
     */
    @Test
    void bucketedBatchingGivesBatchOnesEmbeddings() throws Exception {
        List<Row> data = new ArrayList<>();
        try (Stream<Path> files = Files.list(SparkTestSupport.goldenImages())) {
            List<Path> images = files.sorted().toList();
            for (int copy = 0; copy < 3; copy++) {
                for (Path p : images) {
                    data.add(RowFactory.create(p.getFileName() + "#" + copy, Files.readAllBytes(p)));
                }
            }
        }
        Collections.shuffle(data, new Random(5));
        StructType schema = new StructType().add("name", DataTypes.StringType).add("content", DataTypes.BinaryType);
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> in = spark.createDataFrame(jsc.parallelize(data, 1), schema);
        RadioEmbedder bucketed = SparkTestSupport.embedder()
                .setResizeMode("native")
                .setImageSize(224)
                .setBatchSize(4)
                .setFeaturesMode("full")
                .setImageInfoCol("info");
        RadioEmbedder single = SparkTestSupport.embedder()
                .setResizeMode("native")
                .setImageSize(224)
                .setBatchSize(1)
                .setFeaturesMode("full");
        List<Row> out = bucketed.transform(in).collectAsList();
        EmbedderMetrics m = bucketed.getLastMetrics();
        Map<String, Row> one = new java.util.HashMap<>();
        single.transform(in).collectAsList().forEach(r -> one.put(r.getString(0), r));

        assertEquals(data.size(), out.size());
        Set<String> seen = new HashSet<>();
        int embedded = 0;
        for (Row r : out) {
            String name = r.getString(0);
            assertTrue(seen.add(name), name + " twice");
            Row b = one.get(name);
            if (name.startsWith("not-an-image") || name.startsWith("truncated")) {
                assertNotNull(r.getAs("error"), name);
                assertNotNull(b.getAs("error"), name);
                continue;
            }
            assertNull(r.getAs("error"), name);
            float[] s = SparkTestSupport.floats(r, "summary");
            float[] expS = SparkTestSupport.floats(b, "summary");
            Row f = r.getAs("features");
            Row fb = b.getAs("features");
            assertEquals(fb.getInt(0), f.getInt(0), name);
            assertEquals(fb.getInt(1), f.getInt(1), name);
            float[] feats = toFloats(f.getList(3));
            float[] expF = toFloats(fb.getList(3));
            // The golden tolerances (RadioEmbedderTest's against the reference): cosine, summary and features max abs.
            assertTrue(Golden.cosine(expS, s) >= 0.9999, name);
            assertTrue(maxAbs(expS, s) <= 2e-3, name + " summary max abs " + maxAbs(expS, s));
            assertTrue(maxAbs(expF, feats) <= 3e-2, name + " features max abs " + maxAbs(expF, feats));
            embedded++;
        }
        assertEquals(30, embedded);

        // What grouping each decoded batch of 4 by size would take, in input order.
        int perBatch = 0;
        for (int i = 0; i < out.size(); i += 4) {
            Set<List<Integer>> sizes = new HashSet<>();
            for (Row r : data.subList(i, Math.min(data.size(), i + 4))) {
                Row o = out.stream()
                        .filter(x -> x.getString(0).equals(r.getString(0)))
                        .findFirst()
                        .orElseThrow();
                Row info = o.getAs("info");
                if (info != null) {
                    sizes.add(List.of(info.getInt(2), info.getInt(3)));
                }
            }
            perBatch += sizes.size();
        }
        System.out.println("bucketed: " + m + ", " + m.imagesPerForward() + " images per pass; grouping each batch: "
                + perBatch + " passes");
        assertEquals(30, m.forwardImages());
        long passes = 0;
        long images = 0;
        for (Map.Entry<Integer, Long> e : m.imagesPerForwardHistogram().entrySet()) {
            assertTrue(e.getKey() >= 1 && e.getKey() <= 4, m.toString());
            passes += e.getValue();
            images += e.getKey() * e.getValue();
        }
        assertEquals(m.forwardPasses(), passes);
        assertEquals(30, images);
        assertEquals(30.0 / m.forwardPasses(), m.imagesPerForward(), 1e-9);
        assertTrue(m.forwardPasses() < perBatch, m.forwardPasses() + " passes vs " + perBatch);
    }

    /**
     * Native mode at 64, batch 8: three 48x64 (width x height) images and three 64x48 ones, 4x3 and 3x4 patches,
     * share one forward pass of 12 tokens, each patch-embedded on its own grid; a 64x64 image (16 tokens) has its
     * own. Each row's features keep its own grid (full and pooled) and equal batch 1's within the golden tolerance
     * (1e-4), the info columns are each image's, and the rows come out group by group, in input order within one.
     */
    @Test
    void transposedSizesShareAForwardPassWithBatchOnesEmbeddings() {
        List<Row> data = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            data.add(RowFactory.create((long) i, SparkTestSupport.png(i % 2 == 0 ? 48 : 64, i % 2 == 0 ? 64 : 48, i)));
        }
        data.add(RowFactory.create(6L, SparkTestSupport.png(64, 64, 6)));
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> in = spark.createDataFrame(jsc.parallelize(data, 1), SparkTestSupport.ID_CONTENT);
        for (String features : List.of("full", "pooled:2x2")) {
            RadioEmbedder mixed = SparkTestSupport.embedder()
                    .setResizeMode("native")
                    .setImageSize(64)
                    .setBatchSize(8)
                    .setFeaturesMode(features)
                    .setImageInfoCol("info");
            RadioEmbedder single = SparkTestSupport.embedder()
                    .setResizeMode("native")
                    .setImageSize(64)
                    .setBatchSize(1)
                    .setFeaturesMode(features);
            List<Row> out = mixed.transform(in).collectAsList();
            EmbedderMetrics m = mixed.getLastMetrics();
            Map<Long, Row> one = new java.util.HashMap<>();
            single.transform(in).collectAsList().forEach(r -> one.put(r.getLong(0), r));
            assertEquals(
                    List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L),
                    out.stream().map(r -> r.getLong(0)).toList(),
                    features);
            // The 12-token group is one pass of 6, or 2 of 3 when the partition's last groups are split over 2
            // forward lanes; either way every pass of it has both sizes.
            long mixedPasses = m.forwardPasses() - 1;
            assertTrue(mixedPasses == 1 || mixedPasses == 2, m.toString());
            assertEquals(
                    Map.of(1, 1L, (int) (6 / mixedPasses), mixedPasses), m.imagesPerForwardHistogram(), m.toString());
            assertEquals(Map.of(1, 1L, 2, mixedPasses), m.inputSizesPerForwardHistogram(), m.toString());
            for (Row r : out) {
                long id = r.getLong(0);
                assertNull(r.getAs("error"), "row " + id);
                Row info = r.getAs("info");
                int h = id == 6 ? 64 : id % 2 == 0 ? 64 : 48;
                int w = id == 6 ? 64 : id % 2 == 0 ? 48 : 64;
                assertEquals(List.of(h, w), List.of(info.getInt(2), info.getInt(3)), "row " + id + " input size");
                Row f = r.getAs("features");
                Row fb = one.get(id).getAs("features");
                List<Integer> grid = features.equals("full") ? List.of(h / 16, w / 16) : List.of(2, 2);
                assertEquals(grid, List.of(f.getInt(0), f.getInt(1)), "row " + id + " grid");
                assertEquals(List.of(fb.getInt(0), fb.getInt(1)), List.of(f.getInt(0), f.getInt(1)));
                float[] s = SparkTestSupport.floats(r, "summary");
                float[] expS = SparkTestSupport.floats(one.get(id), "summary");
                float[] feats = toFloats(f.getList(3));
                float[] expF = toFloats(fb.getList(3));
                assertTrue(maxAbs(expS, s) <= 1e-4, "row " + id + " summary max abs " + maxAbs(expS, s));
                assertTrue(maxAbs(expF, feats) <= 1e-4, "row " + id + " features max abs " + maxAbs(expF, feats));
            }
        }
    }

    static final int N = 2000;

    /**
     * One partition of 2,000 PNGs of 50 distinct sizes (64..224 a side, kept as they are in native mode at 224),
     * in random order, batch 16: every row once, and the heap stays far below what holding the partition's pixels
     * (about 2,000 x 3 x 144 x 144 floats, 500 MB) would take; the buckets hold at most 4 batches of 224 x 224
     * (39 MB).
     */
    @Test
    void twoThousandImagesOfFiftySizesStayBounded() throws Exception {
        // One PNG per size, made once; rows are made in the task as it reads them, so the input partition is not
        // held on the heap.
        byte[][] pngs = new byte[50][];
        for (int k = 0; k < 50; k++) {
            pngs[k] = SparkTestSupport.png(SIDES[(k / 11 + k) % 11], SIDES[k % 11], k);
        }
        Dataset<Row> in = spark.range(0, N, 1, 1)
                .map(
                        (org.apache.spark.api.java.function.MapFunction<Long, Row>) i ->
                                RowFactory.create(i, pngs[new Random(i * 31 + 9).nextInt(50)]),
                        org.apache.spark.sql.Encoders.row(SparkTestSupport.ID_CONTENT));
        RadioEmbedder e = SparkTestSupport.embedder()
                .setResizeMode("native")
                .setImageSize(224)
                .setBatchSize(16)
                .setImageInfoCol("info");
        // Warm up: the model built, the forward compiled for some of the sizes.
        consume(e.transform(in.limit(64)), spark.sparkContext().longAccumulator(), new HashSet<>());

        long heap0 = RadioEmbedderMemoryTest.heapAfterGc();
        RadioEmbedderMemoryTest.Sampler sampler = new RadioEmbedderMemoryTest.Sampler();
        sampler.start();
        LongAccumulator seen = spark.sparkContext().longAccumulator("seen");
        Set<List<Integer>> sizes = java.util.concurrent.ConcurrentHashMap.newKeySet();
        long t0 = System.nanoTime();
        consume(e.transform(in), seen, sizes);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        sampler.stop = true;
        sampler.join();
        long heap1 = RadioEmbedderMemoryTest.heapAfterGc();
        EmbedderMetrics m = e.getLastMetrics();
        long peakHeapGrowthMb = (sampler.maxHeap.get() - heap0) >> 20;
        long endHeapGrowthMb = (heap1 - heap0) >> 20;
        System.out.printf(
                "memory: %d images of %d sizes in one partition, native 224, batch 16: %d ms; %d forward passes, "
                        + "%.2f images per pass %s; heap after GC: baseline %d MB, peak +%d MB (%d samples), end +%d MB%n",
                N,
                sizes.size(),
                ms,
                m.forwardPasses(),
                m.imagesPerForward(),
                m.imagesPerForwardHistogram(),
                heap0 >> 20,
                peakHeapGrowthMb,
                sampler.samples,
                endHeapGrowthMb);
        assertEquals(N, seen.value());
        assertEquals(N, m.imagesProcessed());
        assertEquals(0, m.imagesFailed());
        assertEquals(N, m.forwardImages());
        assertTrue(sizes.size() >= 50, sizes.size() + " sizes");
        // 50 sizes at once: the pixel bound sends buckets before they fill (about 150 images held, 3 per size).
        assertTrue(m.imagesPerForward() >= 4, m.toString());
        assertTrue(sampler.samples >= 3, "too few samples: " + sampler.samples);
        // Measured +60..+97 MB: the buckets' bound (39 MB), 2 batches decoding ahead and up to 3 passes in flight
        // (up to 10 MB each), Spark. Holding every decoded image would be about 500 MB; buckets bounded only by
        // being sent when full (50 sizes x 15 images) about 190 MB.
        assertTrue(peakHeapGrowthMb < 175, "peak heap growth " + peakHeapGrowthMb + " MB");
        assertTrue(endHeapGrowthMb < 50, "heap growth after the job " + endHeapGrowthMb + " MB");
    }

    /** The sides of the 50 sizes: 64..224, multiples of 16, kept as they are in native mode at 224. */
    static final int[] SIDES = {64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224};

    /** Streams the output without keeping it: every id once (checked on the one partition), no error. */
    static void consume(Dataset<Row> out, LongAccumulator seen, Set<List<Integer>> sizes) {
        List<List<Integer>> found = out
                .select("id", "summary", "info", "error")
                .mapPartitions(
                        (org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) it -> {
                            java.util.BitSet ids = new java.util.BitSet();
                            Set<List<Integer>> local = new HashSet<>();
                            while (it.hasNext()) {
                                Row r = it.next();
                                int id = (int) r.getLong(0);
                                if (ids.get(id) || !r.isNullAt(3) || r.isNullAt(1)) {
                                    throw new AssertionError("row " + id + " twice or failed: " + r.get(3));
                                }
                                ids.set(id);
                                Row info = r.getStruct(2);
                                local.add(List.of(info.getInt(2), info.getInt(3)));
                                seen.add(1);
                            }
                            List<Row> res = new ArrayList<>();
                            for (List<Integer> s : local) {
                                res.add(RowFactory.create(s.get(0), s.get(1)));
                            }
                            return res.iterator();
                        },
                        org.apache.spark.sql.Encoders.row(
                                new StructType().add("h", DataTypes.IntegerType).add("w", DataTypes.IntegerType)))
                .collectAsList()
                .stream()
                .map(x -> List.of(x.getInt(0), x.getInt(1)))
                .toList();
        sizes.addAll(found);
    }

    static float[] toFloats(List<Object> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ((Number) list.get(i)).floatValue();
        }
        return out;
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
