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
 * went through them, and their histogram: images in a pass to the number of such passes; and the histogram of distinct
 * input sizes in a pass (a pass takes images of one token count, of one or more input sizes) to passes.
 */
public record EmbedderMetrics(
        long imagesProcessed,
        long imagesFailed,
        long decodeMs,
        long forwardMs,
        long forwardPasses,
        long forwardImages,
        SortedMap<Integer, Long> imagesPerForwardHistogram,
        SortedMap<Integer, Long> inputSizesPerForwardHistogram) {
    static final EmbedderMetrics EMPTY = new EmbedderMetrics(0, 0, 0, 0, 0);

    public EmbedderMetrics {
        imagesPerForwardHistogram = Collections.unmodifiableSortedMap(new TreeMap<>(imagesPerForwardHistogram));
        inputSizesPerForwardHistogram = Collections.unmodifiableSortedMap(new TreeMap<>(inputSizesPerForwardHistogram));
    }

    /** Without forward images and histograms (none counted). */
    public EmbedderMetrics(long imagesProcessed, long imagesFailed, long decodeMs, long forwardMs, long forwardPasses) {
        this(imagesProcessed, imagesFailed, decodeMs, forwardMs, forwardPasses, 0, new TreeMap<>(), new TreeMap<>());
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
            Histogram imagesPerForward,
            Histogram inputSizesPerForward)
            implements Serializable {
        EmbedderMetrics snapshot() {
            return new EmbedderMetrics(
                    processed.value(),
                    failed.value(),
                    decodeMs.value(),
                    forwardMs.value(),
                    forwardMs.count(),
                    forwardImages.value(),
                    imagesPerForward.value(),
                    inputSizesPerForward.value());
        }
    }

    static Accumulators register(SparkContext sc, String prefix) {
        Histogram h = new Histogram();
        sc.register(h, prefix + ".imagesPerForward");
        Histogram sizes = new Histogram();
        sc.register(sizes, prefix + ".inputSizesPerForward");
        return new Accumulators(
                sc.longAccumulator(prefix + ".imagesProcessed"),
                sc.longAccumulator(prefix + ".imagesFailed"),
                sc.longAccumulator(prefix + ".decodeMs"),
                sc.longAccumulator(prefix + ".forwardMs"),
                sc.longAccumulator(prefix + ".forwardImages"),
                h,
                sizes);
    }

    /** Counts of integer values (images, or input sizes, in a forward pass to passes), merged over tasks. */
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
