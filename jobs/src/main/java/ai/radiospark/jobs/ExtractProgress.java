package ai.radiospark.jobs;

import ai.radiospark.ml.EmbedderMetrics;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress of {@code radio extract} over its chunks: images done (embedded, failed or reused), of
 * the images to do, with rate and ETA.
 *
 * <p>The embedder's accumulators reach the driver only when a task ends, so a partition of many
 * batches would show nothing until it is done. Running tasks report their accumulators with each
 * executor heartbeat ({@code spark.executor.heartbeatInterval}, 10 s by default), and the embedder
 * adds to them after every batch: this listener keeps each running task's latest counts, so the
 * lines move with the batches. A task's counts leave the running set when it ends, as they enter
 * the accumulators.
 */
final class ExtractProgress extends SparkListener implements AutoCloseable {
    private final long total;
    private final long start;
    private final SparkContext sc;
    private final String processedName;
    private final String failedName;
    /** Running tasks' latest {processed, failed}, by task id. */
    private final Map<Long, long[]> running = new ConcurrentHashMap<>();

    private long processedBefore;
    private long failedBefore;
    private long reused;
    private boolean chunkActive;
    /** Prints the progress lines, if started. */
    private ScheduledExecutorService ticker;

    /**
     * @param sc where to listen for running tasks' counts; null for none
     * @param embedderUid the uid of the RadioEmbedder whose accumulators count the images
     */
    ExtractProgress(SparkContext sc, String embedderUid, long total, long start) {
        this.total = total;
        this.start = start;
        this.sc = sc;
        this.processedName = "RadioEmbedder(" + embedderUid + ").imagesProcessed";
        this.failedName = "RadioEmbedder(" + embedderUid + ").imagesFailed";
        if (sc != null) {
            sc.addSparkListener(this);
        }
    }

    /**
     * Prints a progress line to {@code out} every {@code seconds}, with the current chunk's embedder
     * metrics from {@code current}, until {@link #close} or every image is done: the run's summary
     * prints that last line, once.
     */
    void printEvery(int seconds, PrintStream out, Supplier<EmbedderMetrics> current) {
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "radio-extract-progress");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(
                () -> {
                    String line = unfinishedLine(current.get());
                    if (line != null) {
                        out.println(line);
                    }
                },
                seconds,
                seconds,
                TimeUnit.SECONDS);
    }

    synchronized void chunkStarted() {
        chunkActive = true;
        running.clear();
    }

    /**
     * @param m the chunk's embedder metrics, final
     * @param reusedSoFar images of this run whose embedding was reused from the table, so far
     */
    synchronized void chunkDone(EmbedderMetrics m, long reusedSoFar) {
        chunkActive = false;
        running.clear();
        if (m != null) {
            processedBefore += m.imagesProcessed();
            failedBefore += m.imagesFailed();
        }
        reused = reusedSoFar;
    }

    /** Images that went through the embedder (embedded or failed), in finished chunks. */
    synchronized long processed() {
        return processedBefore;
    }

    synchronized long failed() {
        return failedBefore;
    }

    /** A progress line: the finished chunks, and of the current one what finished and running tasks reported. */
    synchronized String line(EmbedderMetrics current) {
        long[] c = counts(current);
        return format(c[0], total, c[1], (System.nanoTime() - start) / 1e9);
    }

    /** {@link #line}, or null when every image is done (the summary's line is the last). */
    synchronized String unfinishedLine(EmbedderMetrics current) {
        return counts(current)[0] >= total ? null : line(current);
    }

    /** {done, failed} so far: the finished chunks, and of the current one what finished and running tasks reported. */
    private long[] counts(EmbedderMetrics current) {
        long done = processedBefore + reused;
        long failed = failedBefore;
        if (chunkActive) {
            done += current == null ? 0 : current.imagesProcessed();
            failed += current == null ? 0 : current.imagesFailed();
            for (long[] task : running.values()) {
                done += task[0];
                failed += task[1];
            }
        }
        // A task's heartbeat counts and its final counts may overlap for a moment.
        return new long[] {Math.min(done, total), Math.min(failed, done)};
    }

    /** The progress line's format, also the last line of a run (from its summary). */
    static String format(long done, long total, long failed, double seconds) {
        double rate = done / Math.max(seconds, 1e-9);
        String eta =
                done >= total ? "0 s" : rate > 0 ? String.format(Locale.ROOT, "%.0f s", (total - done) / rate) : "-";
        return String.format(
                Locale.ROOT,
                "progress: %,d/%,d images (%.1f%%), %.1f images/s, %,d failed, ETA %s",
                done,
                total,
                total == 0 ? 100.0 : 100.0 * done / total,
                rate,
                failed,
                eta);
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> task :
                CollectionConverters.asJava(update.accumUpdates())) {
            long processed = -1;
            long failed = 0;
            for (AccumulableInfo info : CollectionConverters.asJava(task._4())) {
                String name = info.name().isDefined() ? info.name().get() : "";
                Object value = info.update().isDefined() ? info.update().get() : null;
                if (value instanceof Number n) {
                    if (name.equals(processedName)) {
                        processed = n.longValue();
                    } else if (name.equals(failedName)) {
                        failed = n.longValue();
                    }
                }
            }
            if (processed >= 0) {
                synchronized (this) {
                    if (chunkActive) {
                        running.put((Long) task._1(), new long[] {processed, failed});
                    }
                }
            }
        }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        running.remove(end.taskInfo().taskId());
    }

    @Override
    public void close() {
        if (ticker != null) {
            ticker.shutdownNow();
        }
        if (sc != null) {
            sc.removeSparkListener(this);
        }
    }
}
