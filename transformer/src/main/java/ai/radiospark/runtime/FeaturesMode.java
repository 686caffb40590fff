package ai.radiospark.runtime;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import java.io.Serializable;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code ai.radiospark.ml.RadioEmbedder} stores of the patch features: {@code none}, {@code full} (the whole
 * rows x cols grid) or {@code pooled:RxC} (the grid average-pooled to R x C cells with PyTorch's
 * {@code adaptive_avg_pool2d} bins: cell i covers rows floor(i*rows/R) .. ceil((i+1)*rows/R)-1).
 */
public record FeaturesMode(Kind kind, int rows, int cols) implements Serializable {
    /** Which features are stored: none, the full grid, or the pooled grid. */
    public enum Kind {
        NONE,
        FULL,
        POOLED
    }

    private static final Pattern POOLED = Pattern.compile("pooled:(\\d{1,4})x(\\d{1,4})");

    /**
     * Parses {@code none}, {@code full} or {@code pooled:RxC} (case and surrounding blanks ignored).
     *
     * @throws InvalidValueException with the accepted forms, for anything else
     */
    public static FeaturesMode parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("none")) {
            return new FeaturesMode(Kind.NONE, 0, 0);
        }
        if (t.equals("full")) {
            return new FeaturesMode(Kind.FULL, 0, 0);
        }
        Matcher m = POOLED.matcher(t);
        if (m.matches()) {
            int r = Integer.parseInt(m.group(1));
            int c = Integer.parseInt(m.group(2));
            if (r > 0 && c > 0) {
                return new FeaturesMode(Kind.POOLED, r, c);
            }
        }
        throw new InvalidValueException(
                "featuresMode",
                text,
                "Use none, full, or pooled:RxC with R and C positive (e.g. "
                        + "pooled:2x2 averages the patch grid into 2x2 cells).");
    }

    /** Whether {@link #parse} accepts {@code text}. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (RadioException e) {
            return false;
        }
    }

    /**
     * Adaptive average pooling of a (rows, cols, dim) row-major grid to (outRows, outCols, dim).
     */
    public static float[] pool(float[] grid, int rows, int cols, int dim, int outRows, int outCols) {
        float[] out = new float[outRows * outCols * dim];
        double[] acc = new double[dim];
        for (int i = 0; i < outRows; i++) {
            int r0 = i * rows / outRows;
            int r1 = ((i + 1) * rows + outRows - 1) / outRows;
            for (int j = 0; j < outCols; j++) {
                int c0 = j * cols / outCols;
                int c1 = ((j + 1) * cols + outCols - 1) / outCols;
                java.util.Arrays.fill(acc, 0);
                for (int r = r0; r < r1; r++) {
                    for (int c = c0; c < c1; c++) {
                        int base = (r * cols + c) * dim;
                        for (int k = 0; k < dim; k++) {
                            acc[k] += grid[base + k];
                        }
                    }
                }
                int n = (r1 - r0) * (c1 - c0);
                int o = (i * outCols + j) * dim;
                for (int k = 0; k < dim; k++) {
                    out[o + k] = (float) (acc[k] / n);
                }
            }
        }
        return out;
    }
}
