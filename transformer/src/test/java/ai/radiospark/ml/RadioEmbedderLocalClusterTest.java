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
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF0;
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
 * same embeddings as local mode, and one model build per executor JVM across two jobs.
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
            RadioEmbedder e = embedder();
            Dataset<Row> out =
                    e.transform(input(cluster)).withColumn("pid", pid.apply()).withColumn("builds", builds.apply());
            Map<Long, Long> buildsByPid = new TreeMap<>();
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
                }
                System.out.println("local-cluster job " + job + ": model builds by executor pid " + buildsByPid
                        + ", metrics " + e.getLastMetrics());
                assertNoExecutorHolds(e.weightsBroadcastId(), cluster);
            }
            UserDefinedFunction peakRss = functions
                    .udf((UDF0<String>) RadioEmbedderLocalClusterTest::peakRss, DataTypes.StringType)
                    .asNondeterministic();
            Map<Long, String> peaks = new TreeMap<>();
            for (Row r : input(cluster).select(pid.apply(), peakRss.apply()).collectAsList()) {
                peaks.put(r.getLong(0), r.getString(1));
            }
            System.out.println("local-cluster executors' peak RSS by pid: " + peaks);
            assertEquals(2, buildsByPid.size(), "both executors should have run tasks: " + buildsByPid);
            buildsByPid.forEach(
                    (p, b) -> assertEquals(1L, b, "executor pid " + p + " built the model " + b + " times"));
            assertEquals(2 * N, e.getLastMetrics().imagesProcessed());
            assertEquals(0, ExecutorModelCache.builds() - driverBuilds, "the driver must not build the model");
        } finally {
            cluster.stop();
        }
    }
}
