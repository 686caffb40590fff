package ai.radiospark.model;

/**
 * Pixel values as the 8-bit values they were made from, for {@link RadioModel#forwardUint8}. The
 * preprocessor's values are {@code float(v * (1 / 255))} of an 8-bit v (transformers' rescale of
 * Pillow's 8-bit resize output), so packing them back is exact; a value that is not of that form
 * (another pixel source) makes {@link #pack} refuse, and the caller keeps float32.
 */
public final class PixelBytes {
    /** transformers' rescale: float32 of the float64 product v * (1 / 255). */
    private static final float[] RESCALE = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            RESCALE[v] = (float) (v * (1.0 / 255.0));
        }
    }

    private PixelBytes() {}

    /** The float32 value of the 8-bit value {@code v}, as the preprocessor and the graph compute it. */
    public static float rescale(int v) {
        return RESCALE[v & 0xFF];
    }

    /**
     * Writes {@code n} values of {@code src} from {@code from} as 8-bit values into {@code dst} from
     * {@code to}.
     *
     * @return false, leaving {@code dst} partly written, if a value is not {@link #rescale} of an
     *     8-bit value
     */
    public static boolean pack(float[] src, int from, byte[] dst, int to, int n) {
        float[] rescale = RESCALE;
        for (int i = 0; i < n; i++) {
            float x = src[from + i];
            int v = Math.round(x * 255f);
            if (v < 0 || v > 255 || rescale[v] != x) {
                return false;
            }
            dst[to + i] = (byte) v;
        }
        return true;
    }
}
