package ai.radiospark.model;

import java.util.List;

/**
 * What one batched forward pass returns, as float32 arrays laid out row-major. A pass over several
 * input sizes of one token count ({@link RadioModel#forward(List, List, java.util.Set)}) has one {@link Grid}
 * per sub-batch; each image's features are laid out on its own grid ({@link #rows(int)},
 * {@link #cols(int)}).
 *
 * @param batch images in the batch (B)
 * @param rows patch rows of the grid (of the first sub-batch's grid when there are several)
 * @param cols patch columns of the grid (of the first sub-batch's grid when there are several)
 * @param dim token width d
 * @param summary (B, len(summary_idxs)·d): the cls tokens at summary_idxs, concatenated
 * @param features (B, rows·cols, d): the patch tokens, or null when not asked for
 * @param lastHiddenState (B, prefix + rows·cols, d), or null when not asked for
 * @param hiddenStates the embedding output and each block's output, each like lastHiddenState;
 *     empty when not asked for
 * @param grids the sub-batches in image order, their image counts summing to B, all with rows·cols
 *     patches
 */
public record RadioOutput(
        int batch,
        int rows,
        int cols,
        int dim,
        float[] summary,
        float[] features,
        float[] lastHiddenState,
        List<float[]> hiddenStates,
        List<Grid> grids) {

    /** {@code images} consecutive images of the batch with a {@code rows} x {@code cols} patch grid. */
    public record Grid(int images, int rows, int cols) {}

    /** A pass over one grid. */
    public RadioOutput(
            int batch,
            int rows,
            int cols,
            int dim,
            float[] summary,
            float[] features,
            float[] lastHiddenState,
            List<float[]> hiddenStates) {
        this(
                batch,
                rows,
                cols,
                dim,
                summary,
                features,
                lastHiddenState,
                hiddenStates,
                List.of(new Grid(batch, rows, cols)));
    }

    /** A pass over the sub-batches {@code grids} (at least one). */
    RadioOutput(
            int batch,
            int dim,
            float[] summary,
            float[] features,
            float[] lastHiddenState,
            List<float[]> hiddenStates,
            List<Grid> grids) {
        this(
                batch,
                grids.get(0).rows(),
                grids.get(0).cols(),
                dim,
                summary,
                features,
                lastHiddenState,
                hiddenStates,
                List.copyOf(grids));
    }

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

    /** The patch rows of image {@code i}'s grid. */
    public int rows(int i) {
        return grid(i).rows();
    }

    /** The patch columns of image {@code i}'s grid. */
    public int cols(int i) {
        return grid(i).cols();
    }

    /** The (rows(i)·cols(i), d) patch features of image {@code i}, row-major on its own grid. */
    public float[] features(int i) {
        if (features == null) {
            throw new IllegalStateException("features were not computed; ask for Output.FEATURES");
        }
        int n = rows * cols * dim; // every grid of the pass has rows·cols patches
        float[] out = new float[n];
        System.arraycopy(features, i * n, out, 0, n);
        return out;
    }

    private Grid grid(int i) {
        if (i < 0 || i >= batch) {
            throw new IndexOutOfBoundsException("image " + i + " of a batch of " + batch);
        }
        int k = i;
        for (Grid g : grids) {
            if (k < g.images()) {
                return g;
            }
            k -= g.images();
        }
        throw new IllegalStateException("grids " + grids + " hold fewer than " + batch + " images");
    }
}
