package ai.radiospark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.model.Golden;
import ai.radiospark.runtime.ExecutorModelCache;
import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF0;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.storage.BlockManagerMaster;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Executors in separate JVMs (Spark's local-cluster master, 2 workers of 1 core and 1 GB): the
 * same embeddings as local mode, and one model build per executor JVM across two jobs; an executor
 * drops its copy of the weights' broadcast as soon as it has built its model, during the job, and
 * a later build (another dtype) on the same executor still gets the weights.
 *
 * <p>Needs target/spark-home/jars (Maven's copy-dependencies, process-test-classes), the
 * environment variables SPARK_HOME and SPARK_SCALA_VERSION, and the Java 17 opens for the
 * executors: all set up by transformer/pom.xml's surefire configuration.
 */
class RadioEmbedderLocalClusterTest {
    static final int N = 48;
    static final int PARTITIONS = 8;

    static Dataset<Row> input(SparkSession spark) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(
                jsc.parallelize(SparkTestSupport.pngRows(N, 40), PARTITIONS), SparkTestSupport.ID_CONTENT);
    }

    static RadioEmbedder embedder() {
        return SparkTestSupport.embedder().setBatchSize(4).setFeaturesMode("pooled:2x2");
    }

    /**
     * After a job the driver drops the weights' broadcast from the executors (their models are built; {@code
     * WeightsHandle}): within 10 s no executor's block manager holds the broadcast or a piece of it.
     */
    static void assertNoExecutorHolds(long broadcastId, SparkSession spark) throws InterruptedException {
        assertTrue(broadcastId >= 0, "a cluster broadcasts the weights");
        BlockManagerMaster master = SparkEnv.get().blockManager().master();
        String prefix = "broadcast_" + broadcastId;
        List<String> held = List.of();
        long deadline = System.currentTimeMillis() + 10_000;
        do {
            if (!held.isEmpty()) {
                Thread.sleep(100);
            }
            List<String> now = new ArrayList<>();
            // asks every block manager (the value is stored without telling the master); the filter travels
            scala.Function1<BlockId, Object> ours = (scala.Function1<BlockId, Object> & java.io.Serializable)
                    id -> id.name().equals(prefix) || id.name().startsWith(prefix + "_");
            for (BlockId b : CollectionConverters.asJava(master.getMatchingBlockIds(ours, true))) {
                for (BlockManagerId where : CollectionConverters.asJava(master.getLocations(b))) {
                    if (!where.isDriver()) {
                        now.add(b.name() + "@" + where.executorId());
                    }
                }
            }
            held = now;
        } while (!held.isEmpty() && System.currentTimeMillis() < deadline);
        assertEquals(List.of(), held, "weights broadcast blocks still on executors after the job");
    }

    /** Per number of models built in this executor JVM: when {@link #heldHere} stops waiting. */
    static final Map<Long, Long> HELD_DEADLINES = new ConcurrentHashMap<>();

    /**
     * On an executor, once its model is built: how many blocks of broadcast {@code broadcastId} (the value, the
     * pieces) its block manager still holds. The executor drops them on its own, right after the build, on a
     * thread of its own ({@code WeightsHandle}); so this waits for them to go, up to 10 s per JVM and build in
     * all (then answers at once: without the drop every row would wait).
     */
    static long heldHere(long broadcastId) throws InterruptedException {
        long built = ExecutorModelCache.builds();
        if (built == 0) {
            return -1; // no model built in this JVM: not a row this check is about
        }
        String prefix = "broadcast_" + broadcastId;
        scala.Function1<BlockId, Object> ours = (scala.Function1<BlockId, Object> & java.io.Serializable)
                id -> id.name().equals(prefix) || id.name().startsWith(prefix + "_");
        long deadline = HELD_DEADLINES.computeIfAbsent(built, b -> System.currentTimeMillis() + 10_000);
        while (true) {
            int n = SparkEnv.get().blockManager().getMatchingBlockIds(ours).size();
            if (n == 0 || System.currentTimeMillis() >= deadline) {
                return n;
            }
            Thread.sleep(100);
        }
    }

    /** This JVM's peak resident memory, {@code VmHWM} of /proc/self/status. */
    static String peakRss() {
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("VmHWM:"))
                    .findFirst()
                    .orElse("?")
                    .replaceAll("\\s+", " ");
        } catch (java.io.IOException ex) {
            return "?";
        }
    }

    @Test
    void localClusterMatchesLocalModeAndBuildsOncePerExecutor() throws Exception {
        Map<Long, float[]> local = new HashMap<>();
        SparkSession spark = SparkTestSupport.localSession("RadioEmbedderLocalClusterTest-local");
        try {
            for (Row r : embedder().transform(input(spark)).collectAsList()) {
                local.put(r.getLong(0), SparkTestSupport.floats(r, "summary"));
            }
        } finally {
            spark.stop();
        }
        assertEquals(N, local.size());
        long driverBuilds = ExecutorModelCache.builds(); // local mode built the model in this JVM

        String home = System.getenv("SPARK_HOME");
        assertNotNull(home, "SPARK_HOME is not set: run through Maven (transformer/pom.xml sets it)");
        assertTrue(new File(home, "jars").isDirectory(), home + "/jars is missing: run mvn process-test-classes");
        SparkSession cluster = SparkSession.builder()
                .master("local-cluster[2,1,1024]")
                .appName("RadioEmbedderLocalClusterTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.executor.extraClassPath", System.getProperty("radio.test.classpath"))
                .config("spark.executor.extraJavaOptions", System.getProperty("radio.test.executorJavaOptions"))
                .getOrCreate();
        try {
            long deadline = System.currentTimeMillis() + 120_000;
            while (cluster.sparkContext().statusTracker().getExecutorInfos().length < 3) { // 2 executors + driver
                assertTrue(System.currentTimeMillis() < deadline, "executors did not come up");
                Thread.sleep(200);
            }
            UserDefinedFunction pid = functions
                    .udf((UDF0<Long>) () -> ProcessHandle.current().pid(), DataTypes.LongType)
                    .asNondeterministic();
            UserDefinedFunction builds = functions
                    .udf((UDF0<Long>) ExecutorModelCache::builds, DataTypes.LongType)
                    .asNondeterministic();
            long driverPid = ProcessHandle.current().pid();
            UserDefinedFunction held = functions
                    .udf((UDF1<Long, Long>) RadioEmbedderLocalClusterTest::heldHere, DataTypes.LongType)
                    .asNondeterministic();
            RadioEmbedder e = embedder();
            Dataset<Row> embedded = e.transform(input(cluster));
            long broadcastId = e.weightsBroadcastId();
            assertTrue(broadcastId >= 0, "a cluster broadcasts the weights");
            // held: per row, after the row's embedding (so after its executor built the model), in the same
            // task, while the job runs (PARTITIONS tasks on 2 executors)
            Dataset<Row> out = embedded.withColumn("pid", pid.apply())
                    .withColumn("builds", builds.apply())
                    .withColumn("held", held.apply(functions.lit(broadcastId)));
            Map<Long, Long> buildsByPid = new TreeMap<>();
            Map<String, Long> heldDuringJobs = new TreeMap<>();
            for (int job = 0; job < 2; job++) {
                List<Row> rows = out.collectAsList();
                assertEquals(N, rows.size());
                for (int i = 0; i < N; i++) {
                    Row r = rows.get(i);
                    assertEquals((long) i, r.getLong(0), "input order");
                    assertNull(r.getAs("error"));
                    Golden.assertClose(
                            local.get(r.getLong(0)),
                            SparkTestSupport.floats(r, "summary"),
                            1e-6,
                            "local-cluster vs local, row " + i);
                    long p = r.getAs("pid");
                    assertTrue(p != driverPid, "ran in the driver JVM");
                    buildsByPid.merge(p, r.getAs("builds"), Math::max);
                    long h = r.getAs("held");
                    if (h != 0) {
                        heldDuringJobs.merge("job " + job + " pid " + p, h, Math::max);
                    }
                }
                System.out.println("local-cluster job " + job + ": model builds by executor pid " + buildsByPid
                        + ", metrics " + e.getLastMetrics());
                assertNoExecutorHolds(broadcastId, cluster);
            }
            UserDefinedFunction peakRss = functions
                    .udf((UDF0<String>) RadioEmbedderLocalClusterTest::peakRss, DataTypes.StringType)
                    .asNondeterministic();
            Map<Long, String> peaks = new TreeMap<>();
            for (Row r : input(cluster).select(pid.apply(), peakRss.apply()).collectAsList()) {
                peaks.put(r.getLong(0), r.getString(1));
            }
            System.out.println("local-cluster executors' peak RSS by pid: " + peaks);
            assertEquals(
                    Map.of(),
                    heldDuringJobs,
                    "blocks of the weights' broadcast on an executor during a job, after it built its model");
            assertEquals(2, buildsByPid.size(), "both executors should have run tasks: " + buildsByPid);
            buildsByPid.forEach(
                    (p, b) -> assertEquals(1L, b, "executor pid " + p + " built the model " + b + " times"));
            assertEquals(2 * N, e.getLastMetrics().imagesProcessed());
            assertEquals(0, ExecutorModelCache.builds() - driverBuilds, "the driver must not build the model");

            // A second build on each executor after its copy of the weights is gone (another dtype: another
            // model from the same broadcast) reads them again, and drops them again.
            e.setDtype("bfloat16");
            Dataset<Row> bf16 = e.transform(input(cluster));
            assertEquals(broadcastId, e.weightsBroadcastId(), "the same broadcast");
            Map<Long, Long> bf16Builds = new TreeMap<>();
            Map<Long, Long> bf16Held = new TreeMap<>();
            List<Row> rows = bf16.withColumn("pid", pid.apply())
                    .withColumn("builds", builds.apply())
                    .withColumn("held", held.apply(functions.lit(broadcastId)))
                    .collectAsList();
            assertEquals(N, rows.size());
            for (Row r : rows) {
                assertNull(r.getAs("error"));
                double cos =
                        ai.radiospark.Cosine.similarity(local.get(r.getLong(0)), SparkTestSupport.floats(r, "summary"));
                assertTrue(cos > 0.99, "bfloat16 vs float32, row " + r.getLong(0) + ": cosine " + cos);
                bf16Builds.merge(r.getAs("pid"), r.getAs("builds"), Math::max);
                bf16Held.merge(r.getAs("pid"), r.getAs("held"), Math::max);
            }
            System.out.println("local-cluster bfloat16 job: model builds by executor pid " + bf16Builds);
            assertTrue(buildsByPid.keySet().containsAll(bf16Builds.keySet()), "the same executors: " + bf16Builds);
            bf16Builds.forEach((p, b) -> assertEquals(2L, b, "executor pid " + p + " built " + b + " models"));
            bf16Held.forEach(
                    (p, h) -> assertEquals(0L, h, "executor pid " + p + " holds blocks after its second build"));
        } finally {
            cluster.stop();
        }
    }
}
