package ai.radiospark.jobs;

import org.apache.spark.sql.SparkSession;

/** The SparkSession a job runs in: spark-submit's, or a local one, with Delta Lake configured. */
final class JobSpark {
    /** How many times {@link #session} was called in this JVM (tests tell from it whether a command used Spark). */
    static final java.util.concurrent.atomic.AtomicInteger SESSIONS = new java.util.concurrent.atomic.AtomicInteger();

    private JobSpark() {}

    /** Whether {@link #session} with this {@code --master} runs Spark in this JVM (local mode). */
    static boolean isLocal(String master) {
        String m = master != null ? master : System.getProperty("spark.master", "local[*]");
        return m.startsWith("local");
    }

    /**
     * @param master {@code --master}; null means spark-submit's master, or {@code local[*]} when the
     *     job runs outside spark-submit
     */
    static SparkSession session(String appName, String master) {
        SESSIONS.incrementAndGet();
        SparkSession.Builder b = SparkSession.builder().appName(appName);
        if (master != null) {
            b.master(master);
        } else if (System.getProperty("spark.master") == null) {
            b.master("local[*]");
        }
        if (System.getProperty("spark.sql.extensions") == null) {
            b.config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension");
        }
        if (System.getProperty("spark.sql.catalog.spark_catalog") == null) {
            b.config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
        }
        if (System.getProperty("spark.ui.enabled") == null && System.getProperty("spark.master") == null) {
            // A local run from the command line: no UI port to collide with.
            b.config("spark.ui.enabled", "false");
        }
        // Plans over the wide embedding schema exceed the default and log a warning on every query.
        b.config("spark.sql.debug.maxToStringFields", "200");
        return b.getOrCreate();
    }
}
