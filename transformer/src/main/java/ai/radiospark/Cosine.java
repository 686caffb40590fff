package ai.radiospark;

/**
 * Cosine similarity of two embeddings, accumulated in double.
 *
 * <pre>{@code
 * double s = Cosine.similarity(summaryA, summaryB); // 1 for the same direction
 * }</pre>
 */
public final class Cosine {
    private Cosine() {}

    /**
     * @return the cosine in [-1, 1]; NaN when either vector is all zeros
     * @throws RadioException when the lengths differ
     */
    public static double similarity(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new RadioException("Cannot compare embeddings of different lengths (" + a.length + " and " + b.length
                    + "): they come from different models. Compare embeddings of one model only.");
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /**
     * The lowest cosine between the images of two batches, each {@code batch} equal slices of
     * {@code a} and {@code b} (one image's summary or features each).
     */
    public static double lowestPerImage(float[] a, float[] b, int batch) {
        int n = a.length / batch;
        double min = 1;
        for (int i = 0; i < batch; i++) {
            min = Math.min(
                    min,
                    similarity(
                            java.util.Arrays.copyOfRange(a, i * n, (i + 1) * n),
                            java.util.Arrays.copyOfRange(b, i * n, (i + 1) * n)));
        }
        return min;
    }
}
