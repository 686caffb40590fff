package ai.radiospark.ml;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.Golden;
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.ForwardThreads;
import ai.radiospark.runtime.Half;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.functions;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamPair;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RadioEmbedder on a local[2] session: values against the golden reference, errors, schema, persistence. */
class RadioEmbedderTest {
    static SparkSession spark;
    static SafetensorsFile reference;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkTestSupport.localSession("RadioEmbedderTest");
        reference = Golden.file("images-tiny-vit-outputs-224.safetensors");
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    static Dataset<Row> goldenBinary() {
        return spark.read()
                .format("binaryFile")
                .load(SparkTestSupport.goldenImages().toString());
    }

    static String base(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    @Test
    void goldenImagesThroughBinaryFileMatchReference() {
        RadioEmbedder e = SparkTestSupport.embedder()
                .setFeaturesMode("full")
                .setBatchSize(4)
                .setImageInfoCol("info");
        RadioEmbedder.ModelInfo info = e.modelInfo();
        assertSame(info, e.modelInfo(), "loaded once");
        assertEquals(Checkpoint.open(Golden.checkpoint("tiny-vit")).sha256(), info.checkpointSha256());
        assertEquals(64, info.config().hiddenSize());
        Dataset<Row> out = e.transform(goldenBinary());
        assertSame(info, e.modelInfo(), "transform reuses the driver-side load");
        // every binaryFile column is kept
        assertEquals(
                List.of("path", "modificationTime", "length", "content", "summary", "features", "info", "error"),
                List.of(out.columns()));
        List<Row> rows = out.collectAsList();
        assertEquals(12, rows.size());
        for (Row r : rows) {
            Row ii = r.getAs("info");
            if (r.getAs("error") != null) {
                assertNull(ii);
                continue;
            }
            java.awt.image.BufferedImage img = readImage(r.getAs("content"));
            if (img != null) {
                assertEquals(img.getWidth(), ii.getInt(0), "original width of " + r.getAs("path"));
                assertEquals(img.getHeight(), ii.getInt(1), "original height of " + r.getAs("path"));
            }
            assertEquals(224, ii.getInt(2));
            assertEquals(224, ii.getInt(3));
            assertEquals((long) r.getAs("length"), ((byte[]) r.getAs("content")).length);
        }
        int checked = 0;
        for (Row r : rows) {
            String name = base(r.getAs("path"));
            if (!reference.tensors().containsKey(name + ".summary")) {
                continue;
            }
            assertNull(r.getAs("error"), name);
            float[] summary = SparkTestSupport.floats(r, "summary");
            Row f = r.getAs("features");
            assertEquals(14, f.getInt(0));
            assertEquals(14, f.getInt(1));
            assertEquals(64, f.getInt(2));
            float[] features = toFloats(f.getList(3));
            float[] expS = reference.floats(name + ".summary");
            float[] expF = reference.floats(name + ".features");
            boolean lossy = name.endsWith(".jpg");
            double cos = Golden.cosine(expS, summary);
            double maxS = maxAbs(expS, summary);
            double maxF = maxAbs(expF, features);
            System.out.printf(
                    "golden %-16s summary cosine %.7f max abs %.3g, features max abs %.3g%n", name, cos, maxS, maxF);
            assertTrue(cos >= (lossy ? 0.999 : 0.9999), name + " summary cosine " + cos);
            assertTrue(maxS <= 2e-3, name + " summary max abs " + maxS);
            assertTrue(maxF <= 3e-2, name + " features max abs " + maxF);
            checked++;
        }
        assertEquals(9, checked);
        EmbedderMetrics m = e.getLastMetrics();
        assertEquals(12, m.imagesProcessed());
        List<String> failed = rows.stream()
                .filter(r -> r.getAs("error") != null)
                .map(r -> base(r.getAs("path")))
                .sorted()
                .toList();
        assertEquals(List.of("not-an-image.jpg", "truncated.jpg"), failed);
        assertEquals(2, m.imagesFailed());
        assertTrue(m.forwardMs() > 0 && m.decodeMs() > 0, m.toString());
    }

    /** Bad files and a zero-byte file become error rows; the other rows are unharmed. */
    @Test
    void badFilesBecomeErrorRows() throws Exception {
        // binaryFile skips zero-byte files, so this input is built by hand with binaryFile's path/content columns.
        List<Row> data = new ArrayList<>();
        for (String f : new String[] {"not-an-image.jpg", "truncated.jpg", "chelsea.png"}) {
            Path p = SparkTestSupport.goldenImages().resolve(f);
            data.add(RowFactory.create(p.toUri().toString(), Files.readAllBytes(p)));
        }
        data.add(RowFactory.create("file:/data/empty.jpg", new byte[0]));
        Dataset<Row> in = spark.createDataFrame(
                        data, new StructType().add("path", DataTypes.StringType).add("content", DataTypes.BinaryType))
                .repartition(2);
        List<Row> rows = SparkTestSupport.embedder().transform(in).collectAsList();
        Map<String, Row> byName = new HashMap<>();
        rows.forEach(r -> byName.put(base(r.getAs("path")), r));
        assertEquals(4, byName.size());
        for (String bad : BAD_FILES) {
            Row r = byName.get(bad);
            String err = r.getAs("error");
            System.out.println("error row " + bad + ": " + err);
            assertNotNull(err, bad);
            assertNull(r.getAs("summary"), bad);
            assertNull(r.getAs("features"), bad);
        }
        Row good = byName.get("chelsea.png");
        assertNull(good.getAs("error"));
        assertTrue(Golden.cosine(reference.floats("chelsea.png.summary"), SparkTestSupport.floats(good, "summary"))
                >= 0.9999);

        RadioEmbedder strict = SparkTestSupport.embedder().setFailOnError(true);
        Dataset<Row> onlyBad = in.filter(col("path").endsWith("not-an-image.jpg"));
        SparkException ex = assertThrows(
                SparkException.class, () -> strict.transform(onlyBad).collectAsList());
        System.out.println("failOnError message: " + ex.getMessage());
        assertTrue(ex.getMessage().contains("not-an-image.jpg"), ex.getMessage());
        assertTrue(ex.getMessage().contains("failOnError"), ex.getMessage());
    }

    static final String[] BAD_FILES = {"not-an-image.jpg", "truncated.jpg", "empty.jpg"};

    /** Finite weights that overflow on real images: every row an error row, no NaN vector stored. */
    @Test
    void nonFiniteOutputsBecomeErrorRows() {
        String model = SparkTestSupport.overflowingTinyVit(tmp.resolve("overflowing-tiny-vit"))
                .toString();
        Dataset<Row> in = goldenBinary().filter(col("path").endsWith(".png"));
        long images = in.count();
        for (String features : new String[] {"none", "pooled:2x2"}) {
            List<Row> rows = SparkTestSupport.embedder()
                    .setModel(model)
                    .setFeaturesMode(features)
                    .transform(in)
                    .collectAsList();
            assertEquals(images, rows.size());
            for (Row r : rows) {
                assertNull(r.getAs("summary"), features);
                assertNull(r.getAs("features"), features);
                assertEquals(
                        "The model's summary for this image came out non-finite (NaN or Inf), so no embedding is "
                                + "stored: the forward pass overflowed. With dtype float16 use bfloat16 or float32; else check the "
                                + "checkpoint's weights (re-download or re-export it).",
                        r.getAs("error"));
            }
        }
        SparkException ex = assertThrows(
                SparkException.class,
                () -> SparkTestSupport.embedder()
                        .setModel(model)
                        .setFailOnError(true)
                        .transform(in)
                        .collectAsList());
        assertTrue(
                ex.getMessage().contains("came out non-finite")
                        && ex.getMessage().contains("failOnError=true"),
                ex.getMessage());
    }

    /** Input columns are kept, rows come out in input order, nulls become error rows. */
    @Test
    void rowsKeepInputOrderAndColumns() {
        List<Row> data = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            data.add(RowFactory.create(
                    (long) i, i == 7 ? null : SparkTestSupport.png(20 + i % 5 * 10, 24, i), "tag" + i));
        }
        StructType schema = SparkTestSupport.ID_CONTENT.add("tag", DataTypes.StringType);
        Dataset<Row> in = spark.createDataFrame(data, schema).repartition(1);
        RadioEmbedder e =
                SparkTestSupport.embedder().setBatchSize(8).setDecodeThreads(2).setErrorCol("why");
        Dataset<Row> out = e.transform(in);
        assertEquals(List.of("id", "content", "tag", "summary", "features", "why"), List.of(out.columns()));
        List<Row> rows = out.collectAsList();
        assertEquals(50, rows.size());
        for (int i = 0; i < 50; i++) {
            Row r = rows.get(i);
            assertEquals((long) i, r.getLong(0));
            assertEquals("tag" + i, r.getString(2));
            if (i == 7) {
                assertNotNull(r.getAs("why"));
                assertNull(r.get(1));
            } else {
                assertNull(r.getAs("why"), () -> r.getAs("why"));
                assertArrayEquals((byte[]) data.get(i).get(1), (byte[]) r.get(1));
                assertEquals(128, SparkTestSupport.floats(r, "summary").length);
            }
            assertNull(r.getAs("features"));
        }
        // local[2], one CPU per task: two forward lanes of one thread each by default.
        assertTrue(ForwardThreads.lanes("cpu()") >= 2, "lanes: " + ForwardThreads.lanes("cpu()"));
        // 49 images (row 7 has none) of one size: 6 full passes of 8, the last of them split over the lanes
        // with the one image left (the task's last passes fill 2 x 2 lanes): 5 + 2 + 1.
        assertEquals(8, e.getLastMetrics().forwardPasses(), e.getLastMetrics().toString());
        assertEquals(49, e.getLastMetrics().forwardImages());

        // Three lanes, three batches in flight per task: same rows, same order.
        List<Row> again =
                e.setForwardConcurrency(3).setBatchSize(3).transform(in).collectAsList();
        assertEquals(3, ForwardThreads.lanes("cpu()"));
        // 16 full passes of 3 and one image: the last full one (sent in the last decoded batch) and the
        // image left are the task's last two groups, split to fill 2 x 3 lanes: 15 + 3 + 1.
        assertEquals(15 + 3 + 1, e.getLastMetrics().forwardPasses());
        // Batch 10: four full passes and 9 images left; the last two groups split in 3 each: 3 + 3 + 3.
        List<Row> split = e.setBatchSize(10).transform(in).collectAsList();
        assertEquals(3 + 3 + 3, e.getLastMetrics().forwardPasses());
        assertEquals(49, e.getLastMetrics().forwardImages());
        for (List<Row> other : List.of(again, split)) {
            for (int i = 0; i < 50; i++) {
                assertEquals((long) i, other.get(i).getLong(0));
                assertEquals("tag" + i, other.get(i).getString(2));
                if (i != 7) {
                    assertArrayEquals(
                            SparkTestSupport.floats(rows.get(i), "summary"),
                            SparkTestSupport.floats(other.get(i), "summary"),
                            1e-5f,
                            "row " + i);
                }
            }
        }
    }

    @Test
    void executorCoresFromTheMasterAndConf() {
        assertEquals(4, EmbedPartition.executorCores("local[4]", null, 16));
        assertEquals(16, EmbedPartition.executorCores("local[*]", null, 16));
        assertEquals(3, EmbedPartition.executorCores("local[3, 2]", null, 16));
        assertEquals(1, EmbedPartition.executorCores("local", null, 16));
        assertEquals(8, EmbedPartition.executorCores("yarn", "8", 16));
        assertEquals(8, EmbedPartition.executorCores("local[2]", "8", 16));
        assertEquals(16, EmbedPartition.executorCores("spark://host:7077", null, 16));
    }

    /** Cancelling the job stops the task and its decoder threads. */
    @Test
    void cancellationStopsDecoderThreads() throws Exception {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> in = spark.createDataFrame(
                jsc.parallelize(SparkTestSupport.pngRows(3000, 48), 1), SparkTestSupport.ID_CONTENT);
        Dataset<Row> out =
                SparkTestSupport.embedder().setBatchSize(4).setDecodeThreads(2).transform(in);
        java.util.concurrent.CompletableFuture<Object> job = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            spark.sparkContext().setJobGroup("cancel-me", "cancellation test", true);
            return out.select("summary").collectAsList();
        });
        long deadline = System.currentTimeMillis() + 60_000;
        while (decoderThreads() == 0) {
            assertTrue(System.currentTimeMillis() < deadline, "decoders never started");
            Thread.sleep(50);
        }
        Thread.sleep(500);
        spark.sparkContext().cancelJobGroup("cancel-me");
        java.util.concurrent.ExecutionException ex = assertThrows(
                java.util.concurrent.ExecutionException.class,
                () -> job.get(60, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(ex.getCause() instanceof SparkException, String.valueOf(ex.getCause()));
        System.out.println(
                "cancelled: " + ex.getCause().getMessage().lines().findFirst().orElse(""));
        deadline = System.currentTimeMillis() + 20_000;
        while (decoderThreads() > 0) {
            assertTrue(System.currentTimeMillis() < deadline, decoderThreads() + " decoder threads still alive");
            Thread.sleep(100);
        }
    }

    static long decoderThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("radio-decode-"))
                .count();
    }

    /**
     * Native mode: mixed sizes, one forward per size bucket (kept across the partition's batches); every
     * row once, rows of one size in input order; same values as one image at a time.
     */
    @Test
    void nativeModeGroupsBySizeAndKeepsOrder() {
        List<Row> data = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            data.add(RowFactory.create((long) i, SparkTestSupport.png(i % 2 == 0 ? 64 : 48, i % 3 == 0 ? 32 : 80, i)));
        }
        Dataset<Row> in =
                spark.createDataFrame(data, SparkTestSupport.ID_CONTENT).repartition(1);
        RadioEmbedder batched = SparkTestSupport.embedder()
                .setResizeMode("native")
                .setImageSize(224)
                .setBatchSize(6)
                .setFeaturesMode("full")
                .setImageInfoCol("info");
        RadioEmbedder single = SparkTestSupport.embedder()
                .setResizeMode("native")
                .setImageSize(224)
                .setBatchSize(1)
                .setFeaturesMode("full");
        List<Row> out = batched.transform(in).collectAsList();
        Map<List<Integer>, Long> lastIdOfSize = new HashMap<>();
        for (Row r : out) {
            Row info = r.getAs("info");
            Long before = lastIdOfSize.put(List.of(info.getInt(2), info.getInt(3)), r.getLong(0));
            assertTrue(before == null || before < r.getLong(0), "rows of one size out of input order: " + out);
        }
        List<Row> a = byId(out, 12);
        // Four sizes of 2, 4, 2 and 4 images: no bucket fills, so each is one pass at the end of the partition.
        assertEquals(
                4,
                batched.getLastMetrics().forwardPasses(),
                batched.getLastMetrics().toString());
        assertEquals(3.0, batched.getLastMetrics().imagesPerForward(), 1e-9);
        assertEquals(Map.of(2, 2L, 4, 2L), batched.getLastMetrics().imagesPerForwardHistogram());
        List<Row> b = single.transform(in).collectAsList();
        for (int i = 0; i < 12; i++) {
            assertEquals((long) i, a.get(i).getLong(0));
            assertEquals((long) i, b.get(i).getLong(0), "batch 1: input order");
            Row fa = a.get(i).getAs("features");
            Row fb = b.get(i).getAs("features");
            assertEquals(fb.getInt(0), fa.getInt(0));
            assertEquals(fb.getInt(1), fa.getInt(1));
            Golden.assertClose(
                    SparkTestSupport.floats(b.get(i), "summary"),
                    SparkTestSupport.floats(a.get(i), "summary"),
                    1e-5,
                    "row " + i);
        }
        // 64 wide -> 4 patch columns, 48 -> 3; 32 high -> 2 rows, 80 -> 5
        Row f0 = a.get(0).getAs("features");
        assertEquals(2, f0.getInt(0));
        assertEquals(4, f0.getInt(1));
        Row f1 = a.get(1).getAs("features");
        assertEquals(5, f1.getInt(0));
        assertEquals(3, f1.getInt(1));
        Row i1 = a.get(1).getAs("info");
        assertEquals(List.of(48, 80, 80, 48), List.of(i1.getInt(0), i1.getInt(1), i1.getInt(2), i1.getInt(3)));
    }

    /** The rows indexed by their id column (column 0), each id 0..n-1 exactly once. */
    static List<Row> byId(List<Row> rows, int n) {
        assertEquals(n, rows.size());
        Row[] out = new Row[n];
        for (Row r : rows) {
            int id = (int) r.getLong(0);
            assertNull(out[id], "row " + id + " twice");
            out[id] = r;
        }
        return List.of(out);
    }

    /** pooled:RxC averages the full grid; float16 stores little-endian halves of the same values. */
    @Test
    void pooledAndFloat16Features() {
        Dataset<Row> in = goldenBinary().filter(col("path").endsWith("chelsea.png"));
        Row full = SparkTestSupport.embedder()
                .setFeaturesMode("full")
                .transform(in)
                .first();
        Row pooled = SparkTestSupport.embedder()
                .setFeaturesMode("pooled:2x2")
                .transform(in)
                .first();
        Dataset<Row> halfDf = SparkTestSupport.embedder()
                .setFeaturesMode("pooled:2x3")
                .setFeaturesType("float16")
                .transform(in);
        assertEquals(
                DataTypes.BinaryType,
                ((StructType) halfDf.schema().apply("features").dataType())
                        .apply("values")
                        .dataType());
        Row half = halfDf.first();
        Row ff = full.getAs("features");
        float[] grid = toFloats(ff.getList(3));
        Row pf = pooled.getAs("features");
        assertEquals(2, pf.getInt(0));
        assertEquals(2, pf.getInt(1));
        assertEquals(64, pf.getInt(2));
        float[] p = toFloats(pf.getList(3));
        assertEquals(2 * 2 * 64, p.length);
        // cell (1, 0) = mean of grid rows 7..13, cols 0..6, channel 5
        double sum = 0;
        for (int r = 7; r < 14; r++) {
            for (int c = 0; c < 7; c++) {
                sum += grid[(r * 14 + c) * 64 + 5];
            }
        }
        assertEquals(sum / 49, p[(1 * 2 + 0) * 64 + 5], 1e-5);
        Row hf = half.getAs("features");
        assertEquals(2, hf.getInt(0));
        assertEquals(3, hf.getInt(1));
        byte[] bytes = (byte[]) hf.get(3);
        assertEquals(2 * 3 * 64 * 2, bytes.length);
        float[] h = Half.decode(bytes);
        float[] exact = FeaturesMode.pool(grid, 14, 14, 64, 2, 3);
        for (int i = 0; i < h.length; i++) {
            assertEquals(exact[i], h[i], Math.abs(exact[i]) / 1024 + 1e-6, "value " + i);
        }
    }

    /** A string column of paths is read through the Hadoop FileSystem; missing files are error rows. */
    @Test
    void pathInput() {
        String chelsea =
                SparkTestSupport.goldenImages().resolve("chelsea.png").toUri().toString();
        String missing = tmp.resolve("no-such.png").toString();
        Dataset<Row> in = spark.createDataFrame(
                List.of(RowFactory.create(chelsea), RowFactory.create(missing)),
                new StructType().add("file", DataTypes.StringType));
        List<Row> rows =
                SparkTestSupport.embedder().setInputCol("file").transform(in).collectAsList();
        assertNull(rows.get(0).getAs("error"));
        assertDecodedLike(
                reference.floats("chelsea.png.summary"),
                SparkTestSupport.floats(rows.get(0), "summary"),
                "chelsea by path");
        String err = rows.get(1).getAs("error");
        System.out.println("missing path error: " + err);
        assertTrue(err.contains("no-such.png"), err);
    }

    /**
     * The Spark image source's struct (BGR(A)/gray pixels, decoded by Spark with ImageIO) gives the
     * embeddings of binary input: near-exactly for lossless PNG/BMP, within JPEG decoder tolerance.
     */
    @Test
    void imageSourceMatchesBinaryInput() {
        String dir = SparkTestSupport.goldenImages().toString();
        Dataset<Row> structs = spark.read()
                .format("image")
                .option("dropInvalid", true)
                .load(dir)
                .filter(not(col("image.origin").endsWith("gray16.png")));
        assertEquals(
                "struct<origin:string,height:int,width:int,nChannels:int,mode:int,data:binary>",
                structs.schema().apply("image").dataType().simpleString());
        RadioEmbedder e = SparkTestSupport.embedder().setInputCol("image");
        Map<String, float[]> fromStruct = new HashMap<>();
        for (Row r : e.transform(structs).collectAsList()) {
            Row img = r.getAs("image");
            assertNull(r.getAs("error"), () -> img.getString(0) + ": " + r.getAs("error"));
            fromStruct.put(base(img.getString(0)), SparkTestSupport.floats(r, "summary"));
        }
        Map<String, float[]> fromBinary = new HashMap<>();
        for (Row r : SparkTestSupport.embedder().transform(goldenBinary()).collectAsList()) {
            fromBinary.put(base(r.getAs("path")), SparkTestSupport.floats(r, "summary"));
        }
        int lossless = 0;
        for (Map.Entry<String, float[]> en : fromStruct.entrySet()) {
            String name = en.getKey();
            float[] b = fromBinary.get(name);
            if (b == null) {
                // Spark's image source (plain ImageIO) accepts the truncated JPEG; the preprocessor refuses it.
                assertEquals("truncated.jpg", name);
                continue;
            }
            double cos = Golden.cosine(b, en.getValue());
            double max = maxAbs(b, en.getValue());
            System.out.printf("image source vs binary %-16s cosine %.7f max abs %.3g%n", name, cos, max);
            if (name.endsWith(".png") || name.endsWith(".bmp")) {
                lossless++;
                assertTrue(max <= 1e-4, name + " max abs " + max);
            } else {
                assertTrue(cos >= 0.999, name + " cosine " + cos);
            }
        }
        assertEquals(5, lossless); // chelsea, camera, rgba, palette, tiny.bmp
        assertTrue(fromStruct.size() >= 8, fromStruct.keySet().toString());
    }

    /** Summary works with array_to_vector. */
    @Test
    void summaryConvertsToVector() {
        Dataset<Row> in = goldenBinary().filter(col("path").endsWith("camera.png"));
        Row r = SparkTestSupport.embedder()
                .transform(in)
                .select(functions.array_to_vector(col("summary")).as("v"))
                .first();
        Vector v = r.getAs("v");
        assertEquals(128, v.size());
        assertEquals(reference.floats("camera.png.summary")[3], v.apply(3), 2e-3);
    }

    @Test
    void transformSchemaRejectsBadColumns() {
        StructType ints = new StructType().add("content", DataTypes.IntegerType);
        IllegalArgumentException e1 = assertThrows(
                IllegalArgumentException.class,
                () -> SparkTestSupport.embedder().transformSchema(ints));
        assertTrue(
                e1.getMessage()
                        .startsWith("Column `content` must be binary, an image struct or a string path, but is int"),
                e1.getMessage());
        StructType clash = SparkTestSupport.ID_CONTENT.add("summary", DataTypes.StringType);
        IllegalArgumentException e2 = assertThrows(
                IllegalArgumentException.class,
                () -> SparkTestSupport.embedder().transformSchema(clash));
        assertTrue(
                e2.getMessage()
                        .startsWith("Output column `summary` (summaryCol) already exists in the input, as " + "string"),
                e2.getMessage());
        IllegalArgumentException e3 = assertThrows(
                IllegalArgumentException.class,
                () -> SparkTestSupport.embedder().setInputCol("image").transformSchema(SparkTestSupport.ID_CONTENT));
        assertTrue(e3.getMessage().startsWith("Column `image` does not exist"), e3.getMessage());
        StructType struct = new StructType().add("content", new StructType().add("x", DataTypes.IntegerType));
        IllegalArgumentException e4 = assertThrows(
                IllegalArgumentException.class,
                () -> SparkTestSupport.embedder().transformSchema(struct));
        assertTrue(e4.getMessage().contains("but is struct<x:int>"), e4.getMessage());
        // param validation
        assertThrows(IllegalArgumentException.class, () -> new RadioEmbedder().setBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> new RadioEmbedder().setImageSize("224x"));
        assertThrows(IllegalArgumentException.class, () -> new RadioEmbedder().setFeaturesMode("pooled:0x2"));
        assertThrows(IllegalArgumentException.class, () -> new RadioEmbedder().setDevice("tpu"));
        StructType ok = SparkTestSupport.embedder().transformSchema(SparkTestSupport.ID_CONTENT);
        assertEquals(
                "struct<id:bigint,content:binary,summary:array<float>,features:struct<rows:int,cols:int,dim:int,"
                        + "values:array<float>>,error:string>",
                ok.simpleString());
    }

    @Test
    void modelThatIsNotADirectoryFailsClearly() {
        Dataset<Row> in = spark.createDataFrame(SparkTestSupport.pngRows(1, 8), SparkTestSupport.ID_CONTENT);
        Exception e = assertThrows(
                RuntimeException.class,
                () -> SparkTestSupport.embedder()
                        .setModel("/no/such/checkpoint")
                        .transform(in));
        assertTrue(e.getMessage().startsWith("Model '/no/such/checkpoint': no such directory"), e.getMessage());
    }

    /** Like Spark's DefaultReadWriteTest: save, save again fails, overwrite works, load has every param. */
    @Test
    void persistenceRoundTrip() throws Exception {
        RadioEmbedder e = new RadioEmbedder()
                .setModel(SparkTestSupport.tinyVit())
                .setInputCol("img")
                .setSummaryCol("s")
                .setFeaturesCol("f")
                .setErrorCol("err")
                .setImageSize(256, 192)
                .setResizeMode("native")
                .setBatchSize(3)
                .setDevice("cpu")
                .setDtype("bfloat16")
                .setFeaturesMode("pooled:2x2")
                .setFeaturesType("float16")
                .setFailOnError(true)
                .setDecodeThreads(2)
                .setImageInfoCol("info")
                .setTorchThreads(1)
                .setForwardConcurrency(2);
        String path = tmp.resolve("embedder").toString();
        e.save(path);
        assertThrows(java.io.IOException.class, () -> e.save(path));
        e.write().overwrite().save(path);
        RadioEmbedder loaded = RadioEmbedder.load(path);
        assertEquals(e.uid(), loaded.uid());
        assertParamsEqual(e, loaded);
        assertEquals("256x192", loaded.getImageSize());
        assertEquals(3, loaded.getBatchSize());
        assertTrue(loaded.getFailOnError());
        // defaults survive too
        RadioEmbedder d = RadioEmbedder.load(save(new RadioEmbedder().setModel("/m"), "defaults"));
        assertParamsEqual(new RadioEmbedder().setModel("/m"), d);
        assertEquals("content", d.getInputCol());
        assertEquals(16, d.getBatchSize());
    }

    static String save(RadioEmbedder e, String name) throws Exception {
        String p = tmp.resolve(name).toString();
        e.write().overwrite().save(p);
        return p;
    }

    static void assertParamsEqual(RadioEmbedder a, RadioEmbedder b) {
        for (Param<?> p : a.params()) {
            Param<?> q = b.getParam(p.name());
            assertEquals(a.isDefined(p), b.isDefined(q), p.name());
            if (a.isDefined(p)) {
                assertEquals(a.getOrDefault(p), b.getOrDefault(q), p.name());
                assertEquals(a.isSet(p), b.isSet(q), p.name() + " set");
            }
        }
        assertEquals(a.params().length, b.params().length);
    }

    @Test
    void pipelineModelSavesAndLoads() throws Exception {
        RadioEmbedder e = SparkTestSupport.embedder().setFeaturesMode("pooled:1x1");
        Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {e});
        Dataset<Row> in = goldenBinary().filter(col("path").endsWith("chelsea.png"));
        PipelineModel model = pipeline.fit(in);
        String path = tmp.resolve("pipeline").toString();
        model.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);
        assertEquals(1, loaded.stages().length);
        RadioEmbedder le = (RadioEmbedder) loaded.stages()[0];
        assertParamsEqual(e, le);
        Row r = loaded.transform(in).first();
        assertDecodedLike(reference.floats("chelsea.png.summary"), SparkTestSupport.floats(r, "summary"), "pipeline");
        for (ParamPair<?> pp : le.extractParamMap().toList()) {
            assertNotNull(pp.value());
        }
        assertFalse(le.getFailOnError());
    }

    /**
     * Through the real decoder, summaries are within 2e-3 of the reference: the preprocessor's
     * pixels are within 2/255 of Pillow's (golden README), measured max 1.2e-3 on the golden images.
     */
    static void assertDecodedLike(float[] expected, float[] actual, String what) {
        Golden.assertClose(expected, actual, 2e-3, what);
        assertTrue(Golden.cosine(expected, actual) >= 0.9999, what);
    }

    static java.awt.image.BufferedImage readImage(byte[] bytes) {
        try {
            return javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(bytes));
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    @Test
    void imageSizeParsing() {
        assertArrayEquals(new int[] {224, 224}, RadioEmbedder.parseImageSize("224"));
        assertArrayEquals(new int[] {256, 192}, RadioEmbedder.parseImageSize("256x192"));
        assertThrows(RadioException.class, () -> RadioEmbedder.parseImageSize("0x5"));
    }

    static float[] toFloats(List<Object> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (Float) list.get(i);
        }
        return out;
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    /**
     * dtype defaults to auto, resolved on the driver: float32 on this machine (local mode, no GPU),
     * bfloat16 when the tasks will run on GPUs (device=gpu here: the function is tested over every
     * case in DeviceSelectorLocalModeTest and DevicePlanTest), and an explicit dtype wins.
     */
    @Test
    void theAutoDtypeIsResolvedOnTheDriverFloat32OnTheCpu() {
        RadioEmbedder e = new RadioEmbedder();
        assertEquals("auto", e.getDtype());
        assertEquals(ai.radiospark.model.ModelDType.FLOAT32, e.resolvedDtype(spark));
        assertEquals(ai.radiospark.model.ModelDType.BFLOAT16, e.setDevice("gpu").resolvedDtype(spark));
        assertEquals(
                ai.radiospark.model.ModelDType.FLOAT32,
                e.setDtype("float32").resolvedDtype(spark),
                "an explicit dtype wins");
        ai.radiospark.runtime.EmbeddingSettings d = ai.radiospark.runtime.EmbeddingSettings.DEFAULTS;
        assertEquals("float32", RadioEmbedder.resolveDtype(spark, d).dtype());
        assertEquals(
                "size=224x224;resize_mode=fixed;dtype=float32;features=none;features_type=float32",
                RadioEmbedder.resolveDtype(spark, d).rowSettings());
        IllegalStateException unresolved = assertThrows(IllegalStateException.class, d::rowSettings);
        assertEquals(
                "dtype=auto is resolved before settings are recorded (RadioEmbedder.resolveDtype): a table records "
                        + "the dtype the model computes in",
                unresolved.getMessage());
    }
}
