package ai.radiospark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.ml.RowEmbedder;
import ai.radiospark.model.SafetensorsFile;
import ai.radiospark.runtime.ExecutorModelCache;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.DenseVector;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * radio_embed, radio_summary, radio_cosine, radio_vector and radio_normalize registered with
 * RadioFunctions.register.
 */
class RadioFunctionsTest {
    static SparkSession spark;
    static SafetensorsFile reference;

    @BeforeAll
    static void setUp() {
        spark = SqlTestSpark.session().newSession();
        RadioFunctions.register(spark, Map.of("model", SqlTestSpark.tinyVit(), "featuresMode", "pooled:2x2"));
        spark.read()
                .format("binaryFile")
                .load(SqlTestSpark.goldenImages().toString())
                .createOrReplaceTempView("images");
        reference = SafetensorsFile.open(SqlTestSpark.golden().resolve("images-tiny-vit-outputs-224.safetensors"));
    }

    @Test
    void summariesMatchTheGoldenReference() {
        List<Row> rows = spark.sql("SELECT path, radio_summary(content) AS summary FROM images ORDER BY path")
                .collectAsList();
        int compared = 0;
        double worstLossless = 1;
        double worstJpeg = 1;
        double worstAbs = 0;
        for (Row r : rows) {
            String name = SqlTestSpark.base(r.getString(0));
            if (!reference.tensors().containsKey(name + ".summary")) {
                continue;
            }
            float[] expected = reference.floats(name + ".summary");
            float[] actual = SqlTestSpark.floats(r, "summary");
            assertNotNull(actual, name + " has no summary");
            double cos = SqlTestSpark.cosine(expected, actual);
            double abs = SqlTestSpark.maxAbs(expected, actual);
            boolean jpeg = name.endsWith(".jpg");
            System.out.printf("radio_summary golden %-16s cosine %.8f max abs %.3g%n", name, cos, abs);
            assertTrue(cos >= (jpeg ? 0.999 : 0.9999), name + " cosine " + cos);
            assertTrue(abs <= 2e-3, name + " max abs " + abs);
            if (jpeg) {
                worstJpeg = Math.min(worstJpeg, cos);
            } else {
                worstLossless = Math.min(worstLossless, cos);
            }
            worstAbs = Math.max(worstAbs, abs);
            compared++;
        }
        System.out.printf(
                "radio_summary golden: %d images, worst cosine lossless %.8f, JPEG %.8f, max abs %.3g%n",
                compared, worstLossless, worstJpeg, worstAbs);
        assertTrue(compared >= 8, "compared only " + compared + " images");
    }

    @Test
    void embedReturnsTheStructOfRadioEmbedder() {
        var df = spark.sql("SELECT radio_embed(content) AS e FROM images WHERE path LIKE '%/chelsea.png'");
        assertEquals(
                "struct<e:struct<summary:array<float>,features:struct<rows:int,cols:int,dim:int,values:array<float>>,"
                        + "error:string>>",
                df.schema().simpleString());
        Row e = df.head().getStruct(0);
        float[] summary = SqlTestSpark.floats(e.getAs("summary"));
        assertEquals(128, summary.length); // tiny-vit: 2 summary tokens x 64
        assertTrue(SqlTestSpark.cosine(reference.floats("chelsea.png.summary"), summary) >= 0.9999);
        Row f = e.getStruct(e.fieldIndex("features"));
        assertEquals(2, f.getInt(0));
        assertEquals(2, f.getInt(1));
        assertEquals(64, f.getInt(2));
        assertEquals(2 * 2 * 64, f.getList(3).size());
        assertNull(e.getAs("error"));
    }

    @Test
    void badImagesGiveAnErrorAndNullSummary() {
        List<Row> rows = spark.sql("SELECT path, radio_embed(content) AS e, radio_summary(content) AS s FROM images "
                        + "WHERE path LIKE '%/truncated.jpg' OR path LIKE '%/not-an-image.jpg' ORDER BY path")
                .collectAsList();
        assertEquals(2, rows.size());
        for (Row r : rows) {
            Row e = r.getStruct(1);
            String error = e.getAs("error");
            System.out.println("radio_embed error for " + SqlTestSpark.base(r.getString(0)) + ": " + error);
            assertNotNull(error, r.getString(0));
            assertNull(e.getAs("summary"));
            assertNull(e.getAs("features"));
            assertTrue(r.isNullAt(2), "radio_summary is null for " + r.getString(0));
        }
        Row nul = spark.sql("SELECT radio_embed(CAST(NULL AS BINARY)) AS e, radio_summary(NULL) AS s")
                .head();
        assertTrue(nul.getStruct(0).<String>getAs("error").contains("null"), nul.toString());
        assertTrue(nul.isNullAt(1));
    }

    @Test
    void wrongArgumentTypesFailAtAnalysis() {
        assertAnalysisError(
                "SELECT radio_embed(path) FROM images",
                "radio_embed expects BINARY image bytes, but its argument is STRING. Pass the file bytes, not a path: read "
                        + "images with the binaryFile source, e.g. SELECT radio_embed(content) FROM binaryFile.`/path/to/images`.");
        assertAnalysisError(
                "SELECT radio_summary(length) FROM images",
                "radio_summary expects BINARY image bytes, but its argument is BIGINT. Pass encoded image bytes (JPEG, PNG, ...), "
                        + "e.g. the content column of the binaryFile source.");
        assertAnalysisError(
                "SELECT radio_cosine(path, array(1.0F)) FROM images",
                "radio_cosine expects ARRAY<FLOAT> (an embedding such as a summary; any numeric array works), but its first "
                        + "argument is STRING.");
        assertAnalysisError(
                "SELECT radio_cosine(array(1.0F), array('a'))",
                "radio_cosine expects ARRAY<FLOAT> (an embedding such as a summary; any numeric array works), but its second "
                        + "argument is ARRAY<STRING>.");
        assertAnalysisError(
                "SELECT radio_cosine(array(1.0F))",
                "radio_cosine takes 2 arguments, but was given 1. Usage: radio_cosine(a ARRAY<FLOAT>, b ARRAY<FLOAT>).");
        assertAnalysisError(
                "SELECT radio_normalize(path) FROM images",
                "radio_normalize expects ARRAY<FLOAT> (an embedding such as a summary; any numeric array works), but its "
                        + "argument is STRING.");
        assertAnalysisError(
                "SELECT radio_normalize(array(1.0F), array(1.0F))",
                "radio_normalize takes 1 argument, but was given 2. Usage: radio_normalize(a ARRAY<FLOAT>).");
        assertAnalysisError(
                "SELECT radio_embed(content, content) FROM images",
                "radio_embed takes 1 argument, but was given 2. Usage: radio_embed(content BINARY).");
    }

    /** Analysis is eager in spark.sql(): the error comes before any job runs. */
    private static void assertAnalysisError(String sql, String message) {
        long jobsBefore = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
        AnalysisException e = assertThrows(AnalysisException.class, () -> spark.sql(sql), sql);
        // Spark appends the position in the query ("; line 1 pos 7").
        assertTrue(e.getMessage().startsWith(message + "; line 1 pos "), sql + " ==> " + e.getMessage());
        assertEquals(jobsBefore, spark.sparkContext().statusTracker().getJobIdsForGroup(null).length, "no job ran");
    }

    @Test
    void cosineValues() {
        Row r = spark.sql("SELECT radio_cosine(array(1.0F, 2.0F), array(2.0F, 4.0F)), "
                        + "radio_cosine(array(1.0F, 2.0F, 3.0F), array(4.0F, 5.0F, 6.0F)), "
                        + "radio_cosine(array(1, 0), array(0, 1)), "
                        + "radio_cosine(array(1.0D, 0.0D), array(-1.0D, 0.0D)), "
                        + "radio_cosine(NULL, array(1.0F)), "
                        + "radio_cosine(array(1.0F, NULL), array(1.0F, 2.0F)), "
                        + "radio_cosine(array(0.0F, 0.0F), array(1.0F, 2.0F)), "
                        + "radio_cosine(CAST(NULL AS ARRAY<FLOAT>), CAST(NULL AS ARRAY<FLOAT>))")
                .head();
        assertEquals(1.0, r.getDouble(0), 1e-12);
        assertEquals(32 / Math.sqrt(14.0 * 77.0), r.getDouble(1), 1e-12); // 0.9746318461970762
        assertEquals(0.0, r.getDouble(2), 1e-12);
        assertEquals(-1.0, r.getDouble(3), 1e-12);
        for (int i = 4; i < 8; i++) {
            assertTrue(r.isNullAt(i), "column " + i + " of " + r);
        }
        Row same = spark.sql("SELECT radio_cosine(radio_summary(content), radio_summary(content)) FROM images "
                        + "WHERE path LIKE '%/camera.png'")
                .head();
        assertEquals(1.0, same.getDouble(0), 1e-6);
    }

    @Test
    void cosineOfDifferentLengthsFailsNamingThem() {
        Exception e = assertThrows(
                Exception.class,
                () -> spark.sql("SELECT radio_cosine(array(1.0F, 2.0F), array(1.0F, 2.0F, 3.0F))")
                        .collect());
        String all = messages(e);
        assertTrue(all.contains("radio_cosine: cannot compare arrays of different lengths (2 and 3)"), all);
    }

    @Test
    void vectorForSqlTransformer() {
        Row r = spark.sql("SELECT radio_vector(array(1.0F, 2.5F)) AS v, radio_vector(NULL) AS n")
                .head();
        assertInstanceOf(DenseVector.class, r.get(0));
        assertEquals(List.of(1.0, 2.5), List.of(((DenseVector) r.get(0)).apply(0), ((DenseVector) r.get(0)).apply(1)));
        assertTrue(r.isNullAt(1));
    }

    @Test
    void normalizeValues() {
        Row r = spark.sql("SELECT radio_normalize(array(3.0F, 4.0F)) AS a, "
                        + "radio_normalize(array(1, 2, 2)) AS b, "
                        + "radio_normalize(array(-2.0D, 0.0D)) AS c, "
                        + "radio_normalize(NULL) AS n1, "
                        + "radio_normalize(CAST(NULL AS ARRAY<FLOAT>)) AS n2, "
                        + "radio_normalize(array(0.0F, 0.0F)) AS zero, "
                        + "radio_normalize(array(1.0F, NULL)) AS null_element")
                .head();
        assertEquals("array<float>", r.schema().apply("a").dataType().simpleString());
        assertEquals(List.of(0.6f, 0.8f), r.getList(0));
        assertEquals(List.of(1 / 3f, 2 / 3f, 2 / 3f), r.getList(1));
        assertEquals(List.of(-1f, 0f), r.getList(2));
        for (int i = 3; i < 7; i++) {
            assertTrue(r.isNullAt(i), "column " + i + " of " + r);
        }
        // A summary normalised: length 1, the same direction (cosine 1 with the original).
        Row s = spark.sql("SELECT aggregate(n, 0D, (acc, x) -> acc + x * x) AS norm2, radio_cosine(n, summary) AS cos "
                        + "FROM (SELECT radio_normalize(summary) AS n, summary FROM "
                        + "(SELECT radio_summary(content) AS summary FROM images WHERE path LIKE '%/camera.png'))")
                .head();
        assertEquals(1.0, s.getDouble(0), 1e-6);
        assertEquals(1.0, s.getDouble(1), 1e-6);
    }

    @Test
    void optionsAsStringAndMap() {
        SparkSession s = spark.newSession();
        RadioFunctions.register(s, "model=" + SqlTestSpark.tinyVit() + ", imageSize=224x224, dtype=float32");
        s.read()
                .format("binaryFile")
                .load(SqlTestSpark.goldenImages().resolve("camera.png").toString())
                .createOrReplaceTempView("one");
        Row r = s.sql("SELECT radio_embed(content) AS e FROM one").head();
        assertNull(r.getStruct(0).getAs("features"), "featuresMode defaults to none");
        assertTrue(SqlTestSpark.cosine(
                        reference.floats("camera.png.summary"),
                        SqlTestSpark.floats(r.getStruct(0).getAs("summary")))
                >= 0.9999);
        // Py4J hands PySpark's dict over as a java.util.HashMap.
        Map<String, String> py = new HashMap<>();
        py.put("model", SqlTestSpark.tinyVit());
        py.put("featuresMode", "full");
        py.put("featuresType", "float16");
        RadioFunctions.register(s, py);
        assertEquals(
                "struct<rows:int,cols:int,dim:int,values:binary>",
                s.sql("SELECT radio_embed(content).features AS f FROM one")
                        .schema()
                        .fields()[0]
                        .dataType()
                        .simpleString());
        Row f = s.sql("SELECT radio_embed(content).features AS f FROM one")
                .head()
                .getStruct(0);
        assertEquals(14 * 14 * 64 * 2, ((byte[]) f.get(3)).length);
    }

    /** A model whose forward pass overflows: radio_embed gives an error, radio_summary null, never NaN. */
    @Test
    void nonFiniteOutputsAreErrorsNotVectors() {
        SparkSession s = spark.newSession();
        RadioFunctions.register(s, Map.of("model", SqlTestSpark.overflowingTinyVit(), "featuresMode", "pooled:2x2"));
        s.read()
                .format("binaryFile")
                .load(SqlTestSpark.goldenImages().resolve("camera.png").toString())
                .createOrReplaceTempView("one");
        Row r = s.sql("SELECT radio_embed(content) AS e, radio_summary(content) AS s FROM one")
                .head();
        assertNull(r.getStruct(0).getAs("summary"));
        assertNull(r.getStruct(0).getAs("features"));
        assertEquals(
                "The model's summary for this image came out non-finite (NaN or Inf), so no embedding is "
                        + "stored: the forward pass overflowed. With dtype float16 use bfloat16 or float32; else check the "
                        + "checkpoint's weights (re-download or re-export it).",
                r.getStruct(0).getAs("error"));
        assertTrue(r.isNullAt(1));
    }

    @Test
    void badOptionsAreRejectedWhenRegistering() {
        IllegalArgumentException noModel = assertThrows(
                IllegalArgumentException.class, () -> RadioFunctions.register(spark, Map.of("imageSize", "224")));
        assertTrue(noModel.getMessage().startsWith("The RADIO SQL functions need a model"), noModel.getMessage());
        IllegalArgumentException unknown = assertThrows(
                IllegalArgumentException.class,
                () -> RadioFunctions.register(spark, Map.of("model", SqlTestSpark.tinyVit(), "size", "224")));
        assertEquals(
                "Unknown RADIO SQL option \"size\". Options: [batchSize, device, dtype, featuresMode, featuresType, "
                        + "imageSize, model, resizeMode, torchThreads] (named like RadioEmbedder's params).",
                unknown.getMessage());
        IllegalArgumentException bad = assertThrows(
                IllegalArgumentException.class,
                () -> RadioFunctions.register(
                        spark, Map.of("model", SqlTestSpark.tinyVit(), "featuresMode", "pooled")));
        assertTrue(bad.getMessage().startsWith("Invalid RADIO SQL options"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RadioFunctions.register(spark, "model"));
    }

    @Test
    void torchThreadsIsAnOptionCheckedLikeTheStageParam() {
        Map<String, String> options =
                new java.util.TreeMap<>(Map.of("model", SqlTestSpark.tinyVit(), "torchThreads", "-1"));
        IllegalArgumentException bad =
                assertThrows(IllegalArgumentException.class, () -> RadioFunctions.register(spark, options));
        assertEquals(
                "Invalid RADIO SQL options " + options + ": Invalid torchThreads \"-1\". Use 0 (the default) or a "
                        + "positive number of threads per forward pass, e.g. 4.",
                bad.getMessage());
        RowEmbedder one = RadioFunctions.embedder(spark, Map.of("model", SqlTestSpark.tinyVit(), "torchThreads", "1"));
        assertEquals(1, one.torchThreads());
        assertEquals(
                0,
                RadioFunctions.embedder(spark, Map.of("model", SqlTestSpark.tinyVit()))
                        .torchThreads());
    }

    @Test
    void rowsReuseTheExecutorModel() {
        spark.sql("SELECT radio_summary(content) FROM images").collect(); // the model exists in this JVM now
        long builds = ExecutorModelCache.builds();
        long rows = spark.sql("SELECT radio_summary(content) AS s FROM images UNION ALL "
                        + "SELECT radio_summary(content) AS s FROM images")
                .where("s IS NOT NULL")
                .count();
        assertEquals(2 * 10, rows); // 12 golden files, 2 of them bad
        assertEquals(builds, ExecutorModelCache.builds(), "no model built per row or per task");
    }

    @Test
    void describeFunctionShowsUsage() {
        String usage =
                spark.sql("DESCRIBE FUNCTION radio_summary").collectAsList().toString();
        assertTrue(usage.contains("radio_summary(content) - RADIO summary embedding"), usage);
    }

    static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append('\n');
        }
        return b.toString();
    }
}
