package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.model.RadioOutput;
import ai.radiospark.runtime.DecodeAhead;
import ai.radiospark.runtime.FeaturesMode;
import ai.radiospark.runtime.Half;
import ai.radiospark.runtime.PixelSource;
import java.util.Collection;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The output side of {@link EmbedPartition}, one group (a size bucket's rows) at a time: each input
 * row with summary, features, the optional imageInfo and error appended, in the group's order. An image that could not be
 * decoded, or whose output came out NaN or infinite, becomes an error row (summary and features
 * null), or fails the task naming it with failOnError. The feature and error helpers serve
 * {@link RowEmbedder} too.
 */
final class ResultRows {
    /** Parsed once per batch, not per row. */
    private final FeaturesMode featuresMode;

    private final boolean float16;
    private final EmbedPartition.Config cfg;
    private final PartitionInput input;
    private final List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch;
    private final Object[] summary;
    private final Object[] features;
    private final Object[] info;
    private final String[] errors;

    /** {@code input} names the rows in failOnError messages. */
    ResultRows(EmbedPartition.Config cfg, PartitionInput input, List<DecodeAhead.Item<Row, PixelSource.Pixels>> batch) {
        this.cfg = cfg;
        this.featuresMode = cfg.featuresMode();
        this.float16 = cfg.float16();
        this.input = input;
        this.batch = batch;
        int n = batch.size();
        summary = new Object[n];
        features = new Object[n];
        info = new Object[n];
        errors = new String[n];
    }

    /** Rows in the batch. */
    int size() {
        return batch.size();
    }

    /**
     * Image {@code i} could not be decoded: its error row, or the task fails (with failOnError, or
     * out of memory, which is not the image's fault, so that Spark can retry the task).
     */
    void decodeFailed(int i, Throwable error) {
        if (error instanceof VirtualMachineError fatal) {
            throw fatal;
        }
        errors[i] = message(error);
        if (cfg.failOnError()) {
            DecodeAhead.Item<Row, PixelSource.Pixels> p = batch.get(i);
            throw new RadioException(
                    "Cannot embed image " + input.name(p.input(), p.index()) + ": " + errors[i]
                            + " (failOnError=true; set failOnError=false to record such errors in the error column and go on)",
                    error);
        }
    }

    /** Image {@code i}'s sizes for the imageInfo column, when it is asked for ({@code px} null: none). */
    void imageInfo(int i, PixelSource.Pixels px) {
        if (cfg.imageInfo() && px != null) {
            info[i] = RowFactory.create(px.originalWidth(), px.originalHeight(), px.height(), px.width());
        }
    }

    /** Image {@code i}'s outputs, image {@code j} of {@code out}: summary and features, or an error row. */
    void embedded(int i, RadioOutput out, int j) {
        float[] s = out.summary(j);
        Row feats = null;
        String bad = nonFinite(s, "summary");
        if (bad == null && featuresMode.kind() != FeaturesMode.Kind.NONE) {
            feats = featuresRow(out, j, featuresMode, float16);
            bad = feats == null ? nonFinite(null, "features") : null;
        }
        if (bad != null) {
            if (cfg.failOnError()) {
                DecodeAhead.Item<Row, PixelSource.Pixels> item = batch.get(i);
                throw new RadioException(
                        "Cannot embed image " + input.name(item.input(), item.index()) + ": " + bad
                                + " (failOnError=true; set failOnError=false to record such errors in the error column and go on)");
            }
            errors[i] = bad;
            return;
        }
        summary[i] = s;
        features[i] = feats;
    }

    /** Adds the group's output rows to {@code ready}, in its order; returns how many are error rows. */
    long addTo(Collection<Row> ready) {
        long bad = 0;
        for (int i = 0; i < batch.size(); i++) {
            Row row = batch.get(i).input();
            int w = row.length();
            Object[] values = new Object[w + (cfg.imageInfo() ? 4 : 3)];
            for (int c = 0; c < w; c++) {
                values[c] = row.get(c);
            }
            values[w++] = summary[i];
            values[w++] = features[i];
            if (cfg.imageInfo()) {
                values[w++] = info[i];
            }
            values[w] = errors[i];
            if (errors[i] != null) {
                bad++;
            }
            ready.add(RowFactory.create(values));
        }
        return bad;
    }

    /**
     * Image {@code j}'s features as stored: (rows, cols, dim, values), pooled per {@code mode}, values
     * as halves when {@code float16}; null when a value is NaN or infinite (see {@link #nonFinite}).
     */
    static Row featuresRow(RadioOutput out, int j, FeaturesMode mode, boolean float16) {
        int rows = out.rows(j);
        int cols = out.cols(j);
        float[] values = out.features(j);
        if (mode.kind() == FeaturesMode.Kind.POOLED) {
            values = FeaturesMode.pool(values, rows, cols, out.dim(), mode.rows(), mode.cols());
            rows = mode.rows();
            cols = mode.cols();
        }
        if (nonFinite(values, "features") != null) {
            return null;
        }
        return RowFactory.create(rows, cols, out.dim(), float16 ? Half.encode(values) : values);
    }

    /**
     * Null when every value is finite; else the error-column text for an image whose {@code what}
     * (summary or features) came out NaN or infinite, or for {@code values} null, features that did.
     * Such an output is an error row, never a stored vector: one NaN makes every cosine with it NaN.
     */
    static String nonFinite(float[] values, String what) {
        if (values != null) {
            boolean finite = true;
            for (float v : values) {
                finite &= Float.isFinite(v);
            }
            if (finite) {
                return null;
            }
        }
        return "The model's " + what + " for this image came out non-finite (NaN or Inf), so no embedding is "
                + "stored: the forward pass overflowed. With dtype float16 use bfloat16 or float32; else check the "
                + "checkpoint's weights (re-download or re-export it).";
    }

    /** What goes in the error column: RadioException's message, else the class and message. */
    static String message(Throwable t) {
        if (t instanceof RadioException) {
            return t.getMessage();
        }
        return t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
