package ai.radiospark.jobs;

import org.apache.spark.sql.SparkSession;

/** The local Spark session with Delta that the jobs tests share the shape of, and its teardown. */
final class JobsTestSpark {
    private JobsTestSpark() {}

    /** A {@code local[cores]} session with Delta's extension and catalog, no UI, on loopback. */
    static SparkSession start(String app, int cores) {
        return SparkSession.builder()
                .master("local[" + cores + "]")
                .appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
                .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
                .getOrCreate();
    }

    /** Stops the session and forgets it, so that the next test class starts its own. */
    static void stop(SparkSession spark) {
        spark.stop();
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
    }
}
