package ai.radiospark.ml;

import java.io.Serializable;
import org.apache.spark.SparkContext;
import org.apache.spark.util.LongAccumulator;

/**
 * What {@link RadioEmbedder} counted: rows processed (embedded or failed), of which failed (error rows), milliseconds
 * spent decoding (summed over decoder threads) and in forward passes.
 */
public record EmbedderMetrics(long imagesProcessed, long imagesFailed, long decodeMs, long forwardMs) {
  static final EmbedderMetrics EMPTY = new EmbedderMetrics(0, 0, 0, 0);

  /** The named accumulators of one transform; names show in the Spark UI. */
  record Accumulators(LongAccumulator processed, LongAccumulator failed, LongAccumulator decodeMs,
      LongAccumulator forwardMs) implements Serializable {
    EmbedderMetrics snapshot() {
      return new EmbedderMetrics(processed.value(), failed.value(), decodeMs.value(), forwardMs.value());
    }
  }

  static Accumulators register(SparkContext sc, String prefix) {
    return new Accumulators(sc.longAccumulator(prefix + ".imagesProcessed"),
        sc.longAccumulator(prefix + ".imagesFailed"), sc.longAccumulator(prefix + ".decodeMs"),
        sc.longAccumulator(prefix + ".forwardMs"));
  }
}
