package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * A user error thrown in a Spark task reaches the driver wrapped; the CLI reports the task's own
 * message. A query's analysis error is found likewise.
 */
class TaskErrorTest {
    @Test
    void theRadioExceptionOfATaskIsFoundUnderSparksWrapping() {
        SparkSession spark = SparkSession.builder()
                .master("local[1]")
                .appName("TaskErrorTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .getOrCreate();
        try {
            Exception e = assertThrows(
                    Exception.class,
                    () -> spark.range(1)
                            .map(
                                    (MapFunction<Long, Long>) x -> {
                                        throw new RadioException("dtype=float16 on the CPU: use bfloat16 or float32.");
                                    },
                                    Encoders.LONG())
                            .collectAsList());
            assertEquals(
                    "dtype=float16 on the CPU: use bfloat16 or float32.",
                    RadioCli.userError(e).getMessage());
            Exception q = assertThrows(
                    Exception.class,
                    () -> spark.sql("SELECT nosuch FROM range(1)").collectAsList());
            assertTrue(
                    RadioCli.oneLine(RadioCli.queryError(q).getMessage()).startsWith("[UNRESOLVED_COLUMN"),
                    q.getMessage());
        } finally {
            spark.stop();
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }
}
