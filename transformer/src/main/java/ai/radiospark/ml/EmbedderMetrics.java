package ai.radiospark.ml;

import java.io.Serializable;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.spark.SparkContext;
import org.apache.spark.util.AccumulatorV2;
import org.apache.spark.util.LongAccumulator;

/**
 * What {@link RadioEmbedder} counted: rows processed (embedded or failed), of which failed (error rows), milliseconds
 * spent decoding (summed over decoder threads) and in forward passes, the number of forward passes (one per full
 * size bucket, see {@link ai.radiospark.runtime.SizeBuckets}; a bucket sent early to bound the pixels held, or left
 * at the end of a partition, is one more; a task's last passes are split over the forward lanes), the images that
 * went through them, and their histogram: images in a pass to the number of such passes.
 */
public record EmbedderMetrics(
        long imagesProcessed,
        long imagesFailed,
        long decodeMs,
        long forwardMs,
        long forwardPasses,
        long forwardImages,
        SortedMap<Integer, Long> imagesPerForwardHistogram) {
    static final EmbedderMetrics EMPTY = new EmbedderMetrics(0, 0, 0, 0, 0);

    public EmbedderMetrics {
        imagesPerForwardHistogram = Collections.unmodifiableSortedMap(new TreeMap<>(imagesPerForwardHistogram));
    }

    /** Without forward images and histogram (none counted). */
    public EmbedderMetrics(long imagesProcessed, long imagesFailed, long decodeMs, long forwardMs, long forwardPasses) {
        this(imagesProcessed, imagesFailed, decodeMs, forwardMs, forwardPasses, 0, new TreeMap<>());
    }

    /** Images per forward pass, the mean; 0 without passes. */
    public double imagesPerForward() {
        return forwardPasses == 0 ? 0 : (double) forwardImages / forwardPasses;
    }

    /** The named accumulators of one transform; names show in the Spark UI. */
    record Accumulators(
            LongAccumulator processed,
            LongAccumulator failed,
            LongAccumulator decodeMs,
            LongAccumulator forwardMs,
            LongAccumulator forwardImages,
            Histogram imagesPerForward)
            implements Serializable {
        EmbedderMetrics snapshot() {
            return new EmbedderMetrics(
                    processed.value(),
                    failed.value(),
                    decodeMs.value(),
                    forwardMs.value(),
                    forwardMs.count(),
                    forwardImages.value(),
                    imagesPerForward.value());
        }
    }

    static Accumulators register(SparkContext sc, String prefix) {
        Histogram h = new Histogram();
        sc.register(h, prefix + ".imagesPerForward");
        return new Accumulators(
                sc.longAccumulator(prefix + ".imagesProcessed"),
                sc.longAccumulator(prefix + ".imagesFailed"),
                sc.longAccumulator(prefix + ".decodeMs"),
                sc.longAccumulator(prefix + ".forwardMs"),
                sc.longAccumulator(prefix + ".forwardImages"),
                h);
    }

    /** Counts of integer values (images in a forward pass to passes), merged over tasks. */
    static final class Histogram extends AccumulatorV2<Integer, SortedMap<Integer, Long>> {
        private static final long serialVersionUID = 1L;
        private TreeMap<Integer, Long> counts = new TreeMap<>();

        @Override
        public synchronized boolean isZero() {
            return counts.isEmpty();
        }

        @Override
        public synchronized Histogram copy() {
            Histogram h = new Histogram();
            h.counts = new TreeMap<>(counts);
            return h;
        }

        @Override
        public synchronized void reset() {
            counts = new TreeMap<>();
        }

        @Override
        public synchronized void add(Integer v) {
            counts.merge(v, 1L, Long::sum);
        }

        @Override
        public synchronized void merge(AccumulatorV2<Integer, SortedMap<Integer, Long>> other) {
            for (Map.Entry<Integer, Long> e : other.value().entrySet()) {
                counts.merge(e.getKey(), e.getValue(), Long::sum);
            }
        }

        @Override
        public synchronized SortedMap<Integer, Long> value() {
            return Collections.unmodifiableSortedMap(new TreeMap<>(counts));
        }
    }
}
