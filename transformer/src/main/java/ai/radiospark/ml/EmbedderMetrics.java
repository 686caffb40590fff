package ai.radiospark.ml;

import java.io.Serializable;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * What {@link RadioEmbedder} counted: rows processed (embedded or failed), of which failed (error rows), milliseconds
 * spent decoding (summed over decoder threads) and in forward passes, and the number of forward passes (one per
 * batch and input size; a task's last batch is split over the forward lanes).
 */
public record EmbedderMetrics(
        long imagesProcessed, long imagesFailed, long decodeMs, long forwardMs, long forwardPasses) {
    static final EmbedderMetrics EMPTY = new EmbedderMetrics(0, 0, 0, 0, 0);

    /** The named accumulators of one transform; names show in the Spark UI. */
    record Accumulators(
            LongAccumulator processed, LongAccumulator failed, LongAccumulator decodeMs, LongAccumulator forwardMs)
            implements Serializable {
        EmbedderMetrics snapshot() {
            return new EmbedderMetrics(
                    processed.value(), failed.value(), decodeMs.value(), forwardMs.value(), forwardMs.count());
        }
    }

    static Accumulators register(SparkContext sc, String prefix) {
        return new Accumulators(
                sc.longAccumulator(prefix + ".imagesProcessed"),
                sc.longAccumulator(prefix + ".imagesFailed"),
                sc.longAccumulator(prefix + ".decodeMs"),
                sc.longAccumulator(prefix + ".forwardMs"));
    }
}
