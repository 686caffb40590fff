package ai.radiospark.model;

import java.util.List;

/**
 * What one batched forward pass returns, as float32 arrays laid out row-major.
 *
 * @param batch images in the batch (B)
 * @param rows patch rows of the grid
 * @param cols patch columns of the grid
 * @param dim token width d
 * @param summary (B, len(summary_idxs)·d): the cls tokens at summary_idxs, concatenated
 * @param features (B, rows·cols, d): the patch tokens, or null when not asked for
 * @param lastHiddenState (B, prefix + rows·cols, d), or null when not asked for
 * @param hiddenStates the embedding output and each block's output, each like lastHiddenState;
 *     empty when not asked for
 */
public record RadioOutput(
        int batch,
        int rows,
        int cols,
        int dim,
        float[] summary,
        float[] features,
        float[] lastHiddenState,
        List<float[]> hiddenStates) {

    public int summaryDim() {
        return summary.length / batch;
    }

    /** The summary of image {@code i} of the batch. */
    public float[] summary(int i) {
        int s = summaryDim();
        float[] out = new float[s];
        System.arraycopy(summary, i * s, out, 0, s);
        return out;
    }

    /** The (rows·cols, d) patch features of image {@code i}, row-major. */
    public float[] features(int i) {
        if (features == null) {
            throw new IllegalStateException("features were not computed; ask for Output.FEATURES");
        }
        int n = rows * cols * dim;
        float[] out = new float[n];
        System.arraycopy(features, i * n, out, 0, n);
        return out;
    }
}
