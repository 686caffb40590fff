package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import ai.radiospark.RadioException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;

/**
 * The hooks of the fault-injection and crash suites in {@code radio extract}, set by system
 * properties. Unset, each does nothing.
 */
final class ExtractFaults {
    private ExtractFaults() {}

    /** The system property naming the fault-injection suite's fault point. */
    static final String FAULT_POINT = "radio.extract.faultPoint";

    /**
     * The fault-injection suite: with {@code -Dradio.extract.faultPoint=NAME}, reaching point NAME
     * prints {@code radio-fault: NAME} and holds the job there (to be killed), or throws for
     * {@code model-load}. Points: {@code model-load}, {@code before-first-commit}, {@code after-create}
     * (a new table's empty first commit made), {@code in-merge} (a chunk embedded, its MERGE not
     * started), {@code between-chunks}, {@code before-replace} (an overwrite staged, the table not
     * replaced); {@code task-failure} makes every task of a chunk throw. Unset, this does nothing.
     */
    static void fault(String point) {
        if (!point.equals(System.getProperty(FAULT_POINT))) {
            return;
        }
        System.out.println("radio-fault: " + point);
        System.out.flush();
        if (point.equals("model-load")) {
            throw new RadioException("Injected fault: the checkpoint failed to load.");
        }
        try {
            Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether this JVM's first task has been held (task-hold). */
    private static final java.util.concurrent.atomic.AtomicBoolean HELD =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * The standalone-cluster suite's executor kill: with {@code -Dradio.extract.faultPoint=task-hold} in an
     * executor's options, its first task that reads content prints {@code radio-fault: task-hold} to the executor's
     * stdout and waits 10 s there (to be killed), then goes on. Unset, this does nothing.
     */
    static void taskHold() {
        if (!"task-hold".equals(System.getProperty(FAULT_POINT)) || !HELD.compareAndSet(false, true)) {
            return;
        }
        System.out.println("radio-fault: task-hold");
        System.out.flush();
        try {
            Thread.sleep(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The fault-injection suite's task failure: every task of the chunk throws. Unset, the source as is. */
    static Dataset<Row> injectTaskFailure(Dataset<Row> source) {
        if (!"task-failure".equals(System.getProperty(FAULT_POINT))) {
            return source;
        }
        UserDefinedFunction fail = udf(
                        (UDF1<String, Boolean>) p -> {
                            throw new IllegalStateException("radio fault injection: task failure at " + p);
                        },
                        DataTypes.BooleanType)
                .asNondeterministic();
        return source.where(fail.apply(col("path")));
    }

    /**
     * Crash tests kill the driver between two commits; {@code -Dradio.extract.pauseAfterCommitMs}
     * holds it there. Unset, this does nothing.
     */
    static void pauseForCrashTests() {
        long ms = Long.getLong("radio.extract.pauseAfterCommitMs", 0L);
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
