package ai.radiospark.model;

/**
 * RADIO's cropped position embedding (CPE): the learned G×G table is resized bilinearly to
 * m×m, {@code m = max(rows, cols)}, exactly as PyTorch's {@code interpolate(mode="bilinear",
 * align_corners=False)} does, and its top-left {@code rows × cols} part is kept.
 *
 * <p>Computed on the JVM, in float32 like PyTorch; a grid costs a few milliseconds. The model keeps
 * each grid's result on its device ({@link PositionCache}), so this runs once per grid size.
 */
final class PositionEmbedding {
    private final float[] table;
    private final int grid;
    private final int dim;

    /**
     * @param table the (1, G², d) table, row-major over the grid
     * @param grid G
     * @param dim d
     */
    PositionEmbedding(float[] table, int grid, int dim) {
        if (table.length != (long) grid * grid * dim) {
            throw new IllegalArgumentException(
                    "position table has " + table.length + " values, not " + grid + "²·" + dim);
        }
        this.table = table;
        this.grid = grid;
        this.dim = dim;
    }

    /** d, the embedding's width. */
    int dim() {
        return dim;
    }

    /** The (rows·cols, d) embedding for a patch grid, row-major, newly computed. */
    float[] forGrid(int rows, int cols) {
        int m = Math.max(rows, cols);
        float[] out = new float[rows * cols * dim];
        if (m == grid) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(table, r * grid * dim, out, r * cols * dim, cols * dim);
            }
            return out;
        }
        // PyTorch's area_pixel_compute_source_index with align_corners=False, in float like its kernel.
        float scale = (float) grid / m;
        int[] y0 = new int[rows];
        int[] y1 = new int[rows];
        float[] wy = new float[rows];
        sourceIndices(scale, y0, y1, wy);
        int[] x0 = new int[cols];
        int[] x1 = new int[cols];
        float[] wx = new float[cols];
        sourceIndices(scale, x0, x1, wx);
        for (int r = 0; r < rows; r++) {
            float ly1 = wy[r];
            float ly0 = 1f - ly1;
            for (int c = 0; c < cols; c++) {
                float lx1 = wx[c];
                float lx0 = 1f - lx1;
                int a = (y0[r] * grid + x0[c]) * dim;
                int b = (y0[r] * grid + x1[c]) * dim;
                int cc = (y1[r] * grid + x0[c]) * dim;
                int dd = (y1[r] * grid + x1[c]) * dim;
                int o = (r * cols + c) * dim;
                for (int k = 0; k < dim; k++) {
                    out[o + k] = ly0 * (lx0 * table[a + k] + lx1 * table[b + k])
                            + ly1 * (lx0 * table[cc + k] + lx1 * table[dd + k]);
                }
            }
        }
        return out;
    }

    private void sourceIndices(float scale, int[] i0, int[] i1, float[] lambda) {
        for (int i = 0; i < i0.length; i++) {
            float src = Math.max(scale * (i + 0.5f) - 0.5f, 0f);
            int lo = (int) src;
            i0[i] = lo;
            i1[i] = lo < grid - 1 ? lo + 1 : lo;
            lambda[i] = src - lo;
        }
    }
}
