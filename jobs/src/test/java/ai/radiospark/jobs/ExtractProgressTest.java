package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.ml.EmbedderMetrics;
import java.util.List;
import org.apache.spark.Success$;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.TaskInfo;
import org.apache.spark.scheduler.TaskLocality;
import org.junit.jupiter.api.Test;
import scala.Option;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/** Progress lines: their format, and counts that move with the batches running tasks report. */
class ExtractProgressTest {
    static final String UID = "RadioEmbedder_abc";

    static AccumulableInfo acc(long id, String name, long value) {
        return new AccumulableInfo(
                id,
                Option.apply("RadioEmbedder(" + UID + ")." + name),
                Option.apply(value),
                Option.empty(),
                false,
                false,
                Option.empty());
    }

    /** What the driver gets from an executor's heartbeat: a running task's accumulators as they are now. */
    static SparkListenerExecutorMetricsUpdate heartbeat(long taskId, long processed, long failed) {
        Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task = new Tuple4<>(
                taskId,
                1,
                0,
                CollectionConverters.asScala(List.of(
                                acc(7, "imagesProcessed", processed),
                                acc(8, "imagesFailed", failed),
                                acc(9, "decodeMs", 100)))
                        .toSeq());
        return new SparkListenerExecutorMetricsUpdate(
                "driver",
                CollectionConverters.asScala(List.of(task)).toSeq(),
                scala.collection.immutable.Map$.MODULE$.empty());
    }

    static String counts(String line) {
        // "progress: 5/20 images (25.0%), 3.1 images/s, 1 failed, ETA 5 s": the parts that do not depend on time
        assertTrue(
                line.matches("progress: [\\d,]+/[\\d,]+ images \\([\\d.]+%\\), [\\d.]+ images/s, [\\d,]+ failed, "
                        + "ETA (\\d+ s|-)"),
                line);
        return line.replaceAll(", [\\d.]+ images/s", "").replaceAll("ETA \\d+ s", "ETA n s");
    }

    @Test
    void linesMoveWithTheBatchesOfRunningTasksAndFinishedChunks() {
        ExtractProgress p = new ExtractProgress(null, UID, 20, System.nanoTime());
        p.chunkStarted();
        assertEquals("progress: 0/20 images (0.0%), 0 failed, ETA -", counts(p.line(EmbedderMetrics_EMPTY())));
        p.onExecutorMetricsUpdate(heartbeat(1, 4, 1));
        p.onExecutorMetricsUpdate(heartbeat(2, 2, 0));
        assertEquals("progress: 6/20 images (30.0%), 1 failed, ETA n s", counts(p.line(EmbedderMetrics_EMPTY())));
        p.onExecutorMetricsUpdate(heartbeat(1, 8, 1)); // the next heartbeat of task 1 replaces its counts
        assertEquals("progress: 10/20 images (50.0%), 1 failed, ETA n s", counts(p.line(EmbedderMetrics_EMPTY())));
        // Task 1 ends: its counts are now in the chunk's accumulators.
        p.onTaskEnd(taskEnd(1));
        assertEquals(
                "progress: 10/20 images (50.0%), 1 failed, ETA n s",
                counts(p.line(new EmbedderMetrics(8, 1, 0, 0, 0))));
        p.chunkDone(new EmbedderMetrics(12, 1, 0, 0, 0), 3);
        assertEquals("progress: 15/20 images (75.0%), 1 failed, ETA n s", counts(p.line(null)));
        assertEquals(12, p.processed());
        assertEquals(1, p.failed());
        // The ticker's line until every image is done; then none, the summary prints the last line.
        assertEquals("progress: 15/20 images (75.0%), 1 failed, ETA n s", counts(p.unfinishedLine(null)));
        p.chunkStarted();
        p.onExecutorMetricsUpdate(heartbeat(3, 5, 0));
        assertNull(p.unfinishedLine(null));
        assertEquals("progress: 20/20 images (100.0%), 1 failed, ETA n s", counts(p.line(null)));
    }

    @Test
    void theLastLineIsTheSummarysNumbers() {
        assertEquals(
                "progress: 1,209/1,209 images (100.0%), 4.0 images/s, 7 failed, ETA 0 s",
                ExtractProgress.format(1209, 1209, 7, 302.25));
    }

    static EmbedderMetrics EmbedderMetrics_EMPTY() {
        return new EmbedderMetrics(0, 0, 0, 0, 0);
    }

    static SparkListenerTaskEnd taskEnd(long taskId) {
        TaskInfo info = new TaskInfo(taskId, 0, 0, 0, 0L, "driver", "localhost", TaskLocality.PROCESS_LOCAL(), false);
        return new SparkListenerTaskEnd(1, 0, "ResultTask", Success$.MODULE$, info, null, TaskMetrics.empty());
    }
}
