package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commits of one table: each write is retried when another writer committed first, and the
 * version Delta reports for the last one is kept.
 */
final class TableCommits {
    /** Logged under EmbeddingTable, as before the commits had their own class. */
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddingTable.class);
    /** Set by Delta to the version of the session's last commit. */
    private static final String LAST_COMMIT_VERSION = "spark.databricks.delta.lastCommitVersionInSession";

    private final SparkSession spark;
    /** The table's name, for messages. */
    private final String name;
    /** Whether the table, or its log, exists now: a failed create then met another run's create. */
    private final BooleanSupplier logExists;
    /** The version of this table's last commit made through this object, if Delta reported it. */
    private Long committedVersion;

    TableCommits(SparkSession spark, String name, BooleanSupplier logExists) {
        this.spark = spark;
        this.name = name;
        this.logExists = logExists;
    }

    /** Runs a write of the table ({@code what} names it in messages), retried on conflicts; keeps its version. */
    void commit(String what, Runnable write) {
        retrying(name, what, () -> committing(write), logExists);
    }

    /** The version Delta reported for the last commit made through this object, or null. */
    Long committedVersion() {
        return committedVersion;
    }

    /** Conflicting commits retried before a run gives up. */
    static final int COMMIT_ATTEMPTS = 5;

    /**
     * Runs a write, retrying it when another writer committed first (Delta's concurrent-modification
     * exceptions, or a table created at the same time): every write here is idempotent or did not
     * commit. A failed create is a conflict when Delta says the table is not found or its location is
     * not empty, or when, whatever the exception, the table's log exists once it failed ({@code
     * logExists}): another run created it meanwhile. After {@link #COMMIT_ATTEMPTS} attempts: a
     * one-line RadioException.
     */
    static void retrying(String name, String what, Runnable write, BooleanSupplier logExists) {
        for (int attempt = 1; ; attempt++) {
            try {
                write.run();
                return;
            } catch (RuntimeException e) {
                Throwable conflict = conflict(e);
                if (conflict == null && what.equals("create") && (notFound(e) || logExists.getAsBoolean())) {
                    // Another run is creating it: its _delta_log is there, its first commit perhaps not yet
                    // (Delta says the table is not found, or its location is not empty and not a table).
                    conflict = e;
                }
                if (conflict == null) {
                    throw e;
                }
                if (attempt >= COMMIT_ATTEMPTS) {
                    throw new RadioException(
                            "Another writer changed the table " + name + " during each of " + COMMIT_ATTEMPTS
                                    + " attempts of this run's " + what + " ("
                                    + conflict.getClass().getSimpleName() + "): run the same "
                                    + "command again, it keeps what is committed and finishes the job.",
                            e);
                }
                LOG.info(
                        "radio extract: the {} of {} conflicted with another writer ({}); retrying",
                        what,
                        name,
                        conflict.getClass().getSimpleName());
                try {
                    Thread.sleep(200L * attempt + ThreadLocalRandom.current().nextLong(300L * attempt));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static boolean notFound(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            // By condition, and by the message's [CONDITION] prefix: Delta's exceptions do not all report
            // their condition through SparkThrowable (a concurrent create was seen to escape).
            String condition = t instanceof org.apache.spark.SparkThrowable st ? st.getCondition() : null;
            String message = String.valueOf(t.getMessage());
            for (String c : List.of("DELTA_TABLE_NOT_FOUND", "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION")) {
                if (c.equals(condition) || message.contains("[" + c + "]")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The concurrent-write conflict in {@code e}'s causes, or null. */
    static Throwable conflict(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.util.ConcurrentModificationException
                    || t instanceof org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException
                    || t instanceof org.apache.hadoop.fs.FileAlreadyExistsException
                    || t instanceof java.nio.file.FileAlreadyExistsException) {
                return t;
            }
        }
        return null;
    }

    /**
     * Runs a write of this table and keeps the version Delta committed, as Delta records it in the
     * session ({@code spark.databricks.delta.lastCommitVersionInSession}); no version is kept when
     * the write did not report one.
     */
    private void committing(Runnable write) {
        committedVersion = null;
        spark.conf().unset(LAST_COMMIT_VERSION);
        write.run();
        String v = spark.conf().get(LAST_COMMIT_VERSION, null);
        committedVersion = v == null ? null : Long.valueOf(v);
    }
}
