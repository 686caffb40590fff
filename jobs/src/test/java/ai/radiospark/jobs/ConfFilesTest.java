package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * The conf files do what the README says: conf/spark-defaults-cpu.conf works with local[2] (small
 * executors), and conf/log4j2.properties drops the known-harmless warnings and nothing else.
 */
class ConfFilesTest {
    static Properties load(String name) throws Exception {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(Path.of("..", "conf", name))) {
            p.load(r);
        }
        return p;
    }

    @Test
    void theCpuDefaultsRunALocal2Session() throws Exception {
        Properties conf = load("spark-defaults-cpu.conf");
        String cpus = conf.getProperty("spark.task.cpus", "1").trim();
        assertTrue(Integer.parseInt(cpus) <= 2, "spark.task.cpus " + cpus + " does not fit a 2-core executor");
        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName("ConfFilesTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1");
        for (String key : conf.stringPropertyNames()) {
            b.config(key, conf.getProperty(key).trim());
        }
        SparkSession spark = b.getOrCreate();
        try {
            assertEquals(1000, spark.range(1000).repartition(4).count());
            assertEquals(1, spark.sparkContext().getConf().getInt("spark.task.cpus", 1));
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }

    @Test
    void theLogConfigurationDropsKnownHarmlessWarningsOnly() {
        LoggerContext ctx = new LoggerContext(
                "ConfFilesTest",
                null,
                Path.of("..", "conf", "log4j2.properties").toUri());
        ctx.start();
        try {
            assertFalse(ctx.getLogger("ai.djl.util.cuda.CudaUtils").isEnabled(Level.WARN), "DJL's GPU probe on CPUs");
            assertTrue(ctx.getLogger("ai.radiospark.jobs.RadioCli").isEnabled(Level.INFO));
            Filter rdd = ctx.getConfiguration()
                    .getLoggerConfig("org.apache.spark.rdd.RDD")
                    .getFilter();
            assertEquals(
                    Filter.Result.DENY,
                    rdd.filter(warn("RDD 42 was locally checkpointed, its lineage has been "
                            + "truncated and cannot be recomputed after unpersisting")));
            assertEquals(Filter.Result.NEUTRAL, rdd.filter(warn("some other RDD warning")));
        } finally {
            ctx.stop();
        }
    }

    static LogEvent warn(String message) {
        return Log4jLogEvent.newBuilder()
                .setLoggerName("org.apache.spark.rdd.RDD")
                .setLevel(Level.WARN)
                .setMessage(new SimpleMessage(message))
                .build();
    }
}
