package ai.radiospark.image;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Resizes packed 8-bit RGB exactly like Pillow's {@code Image.resize(size, BICUBIC)}
 * ({@code ImagingResample} in Pillow's {@code Resample.c}), so that results match Pillow to the bit.
 *
 * <p>What is replicated: the cubic kernel with a = -0.5; support widened by the downscale factor
 * (antialiasing); coefficients computed in double per output pixel and normalised to sum 1, then
 * converted to fixed point with {@code PRECISION_BITS = 32 - 8 - 2 = 22} and round-half-away;
 * accumulation starting at {@code 1 << (PRECISION_BITS - 1)}; shift and clip to 0..255; horizontal
 * pass first, then vertical pass, each rounded to 8 bits; a pass is skipped when its dimension does
 * not change. Pillow runs the horizontal pass only over the rows the vertical pass reads; so do we.
 *
 * <p>Thread-safe: coefficient tables are immutable and shared through a bounded cache; working
 * arrays are per thread.
 */
final class PillowBicubicResampler {
    static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;
    private static final int CACHE_LIMIT = 256;
    private static final ConcurrentHashMap<Long, Coefficients> CACHE = new ConcurrentHashMap<>();

    private PillowBicubicResampler() {}

    /** Fixed-point coefficients for one resampling direction (inSize to outSize). */
    static final class Coefficients {
        final int ksize;
        /** Per output pixel: first input index. */
        final int[] min;
        /** Per output pixel: number of input pixels used. */
        final int[] count;
        /** Per output pixel: {@code ksize} fixed-point weights, from {@code min}. */
        final int[] weights;

        Coefficients(int ksize, int[] min, int[] count, int[] weights) {
            this.ksize = ksize;
            this.min = min;
            this.count = count;
            this.weights = weights;
        }
    }

    static Coefficients coefficients(int inSize, int outSize) {
        long key = ((long) inSize << 32) | (outSize & 0xFFFFFFFFL);
        Coefficients c = CACHE.get(key);
        if (c == null) {
            c = compute(inSize, outSize);
            if (CACHE.size() >= CACHE_LIMIT) {
                CACHE.clear(); // Bounded: a burst of unusual sizes just starts the cache over.
            }
            CACHE.putIfAbsent(key, c);
        }
        return c;
    }

    static int cacheSize() {
        return CACHE.size();
    }

    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) {
            x = -x;
        }
        if (x < 1.0) {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /** Pillow's {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}. */
    private static Coefficients compute(int inSize, int outSize) {
        // Pillow passes the box as floats: in0 = 0, in1 = inSize.
        double in0 = (float) 0;
        double in1 = (float) inSize;
        double scale = (in1 - in0) / outSize;
        double filterscale = scale < 1.0 ? 1.0 : scale;
        double support = SUPPORT * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] mins = new int[outSize];
        int[] counts = new int[outSize];
        int[] weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        double ss = 1.0 / filterscale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            for (int x = 0; x < xmax; x++) {
                double w = bicubic((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) {
                    k[x] /= ww;
                }
                double v = k[x] * (1 << PRECISION_BITS);
                weights[xx * ksize + x] = v < 0 ? (int) (-0.5 + v) : (int) (0.5 + v);
            }
            mins[xx] = xmin;
            counts[xx] = xmax;
        }
        return new Coefficients(ksize, mins, counts, weights);
    }

    // The resampling engine. Pillow's passes are loops of multiply-accumulates whose innermost loop
    // runs over the taps of one output pixel; here the same sums are reordered so that the innermost
    // loops have the one shape C2 (JDK 17) vectorises: {@code acc[i] += src[i] * k} over int arrays
    // indexed identically (it does not vectorise byte-to-int widening, nor loops whose arrays are
    // indexed with different offsets). Horizontal pass: a strip of up to STRIP input rows is
    // transposed into one int array per (channel, input column), and output column xx of the strip
    // is sum_t w[xx][t] * column[min[xx] + t], vectorised along y. Its results (clipped to 0..255
    // like Pillow's intermediate image) go into one int array per (channel, row); the vertical pass
    // is then sum_t w[yy][t] * row[min[yy] + t], vectorised along x. The sums are the same integers
    // as Pillow's, in another order: int addition is associative and commutative modulo 2^32 and
    // Pillow's sums never overflow, so every clipped value is Pillow's to the bit.

    /** Rows transposed at a time by the horizontal pass (its vector length). */
    private static final int STRIP = 128;
    /** Rows read together while transposing (keeps the reads in L1). */
    private static final int BLOCK = 16;
    /** Output columns of the horizontal pass written to the rows together. */
    private static final int GROUP = 8;

    private static final int HALF = 1 << (PRECISION_BITS - 1);
    /** Scratch ints kept per thread between images; larger images get a scratch of their own. */
    private static final long RETAINED_INTS = 1L << 21;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /** transformers' rescale: float32 of the float64 product v * (1 / 255). */
    private static final float[] RESCALE = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            RESCALE[v] = (float) (v * (1.0 / 255.0));
        }
    }

    /** Three planes of {@code count} int arrays of {@code length}, kept and grown between images (up to a bound). */
    private static final class Planes {
        private int[][][] planes = new int[3][0][];
        private int length;

        int[][][] get(int count, int length) {
            if (planes[0].length < count || this.length < length) {
                int c = Math.max(count, planes[0].length);
                int l = Math.max(length, this.length);
                if (3L * c * l > RETAINED_INTS / 2) {
                    c = count;
                    l = length;
                }
                planes = new int[3][c][l];
                this.length = l;
            }
            return planes;
        }
    }

    /** Per-thread working arrays, grown on demand. */
    private static final class Scratch {
        private final Planes cols = new Planes();
        private final Planes rows = new Planes();
        private final int[][] acc = new int[GROUP][0];

        int[][][] cols(int count, int length) {
            return cols.get(count, length);
        }

        int[][][] rows(int count, int length) {
            return rows.get(count, length);
        }

        /** {@link #GROUP} accumulators of at least {@code length} ints. */
        int[][] acc(int length) {
            if (acc[0].length < length) {
                for (int g = 0; g < GROUP; g++) {
                    acc[g] = new int[length];
                }
            }
            return acc;
        }
    }

    /**
     * Resizes packed RGB ({@code 3 * inWidth * inHeight} bytes, row-major) to outWidth x outHeight.
     * Returns the input array itself when the size does not change.
     */
    static byte[] resize(byte[] rgb, int inWidth, int inHeight, int outWidth, int outHeight) {
        if (outWidth == inWidth && outHeight == inHeight) {
            return rgb;
        }
        byte[] out = new byte[3 * outWidth * outHeight];
        run(rgb, inWidth, inHeight, outWidth, outHeight, out, null, 0);
        return out;
    }

    /**
     * Resizes packed RGB like {@link #resize} and writes the result channel-major (3, outHeight,
     * outWidth) into {@code dest} from {@code offset}, rescaled like transformers: float32 of
     * {@code v * (1 / 255)}.
     */
    static void resizeToFloats(
            byte[] rgb, int inWidth, int inHeight, int outWidth, int outHeight, float[] dest, int offset) {
        run(rgb, inWidth, inHeight, outWidth, outHeight, null, dest, offset);
    }

    /** Writes to {@code outRgb} (packed RGB) when it is not null, else to {@code dest}. */
    private static void run(byte[] rgb, int inW, int inH, int outW, int outH, byte[] outRgb, float[] dest, int offset) {
        boolean horizontal = outW != inW;
        boolean vertical = outH != inH;
        if (!horizontal && !vertical) {
            copy(rgb, outW * outH, outRgb, dest, offset);
            return;
        }
        Coefficients v = vertical ? coefficients(inH, outH) : null;
        int firstRow = vertical ? v.min[0] : 0;
        int lastRow = vertical ? v.min[outH - 1] + v.count[outH - 1] : inH;
        int rowCount = lastRow - firstRow;
        int rowLength = horizontal ? outW : inW;
        int strip = Math.min(STRIP, rowCount);
        int accLength = Math.max(strip, outW);
        long ints = 3L * rowCount * rowLength + (horizontal ? 3L * inW * strip : 0) + (long) GROUP * accLength;
        Scratch scratch = ints <= RETAINED_INTS ? SCRATCH.get() : new Scratch();
        int[][][] rows = scratch.rows(rowCount, rowLength);
        int[][] accs = scratch.acc(accLength);
        if (horizontal) {
            horizontalPass(
                    rgb,
                    inW,
                    firstRow,
                    rowCount,
                    outW,
                    coefficients(inW, outW),
                    scratch.cols(inW, strip),
                    strip,
                    rows,
                    accs);
        } else {
            deinterleave(rgb, inW, firstRow, rowCount, rows);
        }
        int plane = outW * outH;
        if (!vertical) {
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < outH; y++) {
                    sinkValues(rows[c][y], outW, y, c, plane, outRgb, dest, offset);
                }
            }
            return;
        }
        int ksize = v.ksize;
        int[] w = v.weights;
        int[] acc = accs[0];
        for (int c = 0; c < 3; c++) {
            int[][] rc = rows[c];
            for (int yy = 0; yy < outH; yy++) {
                mac(acc, rc, v.min[yy] - firstRow, w, yy * ksize, v.count[yy], outW);
                clip8(acc, outW);
                sinkValues(acc, outW, yy, c, plane, outRgb, dest, offset);
            }
        }
    }

    /** Horizontal pass over input rows [firstRow, firstRow + rowCount) into {@code rows}. */
    private static void horizontalPass(
            byte[] rgb,
            int inW,
            int firstRow,
            int rowCount,
            int outW,
            Coefficients h,
            int[][][] cols,
            int strip,
            int[][][] rows,
            int[][] accs) {
        int rowBytes = 3 * inW;
        int ksize = h.ksize;
        int[] w = h.weights;
        int[] min = h.min;
        int[] count = h.count;
        int[][] cr = cols[0];
        int[][] cg = cols[1];
        int[][] cb = cols[2];
        for (int y0 = 0; y0 < rowCount; y0 += strip) {
            int s = Math.min(strip, rowCount - y0);
            for (int yb = 0; yb < s; yb += BLOCK) {
                int be = Math.min(s, yb + BLOCK);
                int px = (firstRow + y0 + yb) * rowBytes;
                for (int x = 0; x < inW; x++, px += 3) {
                    int[] r = cr[x];
                    int[] g = cg[x];
                    int[] b = cb[x];
                    for (int y = yb, p = px; y < be; y++, p += rowBytes) {
                        r[y] = rgb[p] & 0xFF;
                        g[y] = rgb[p + 1] & 0xFF;
                        b[y] = rgb[p + 2] & 0xFF;
                    }
                }
            }
            for (int c = 0; c < 3; c++) {
                int[][] cc = cols[c];
                int[][] rc = rows[c];
                int xx = 0;
                // GROUP output columns at a time, so that each row is looked up once per GROUP values.
                for (; xx + GROUP <= outW; xx += GROUP) {
                    for (int g = 0; g < GROUP; g++) {
                        mac(accs[g], cc, min[xx + g], w, (xx + g) * ksize, count[xx + g], s);
                        clip8(accs[g], s);
                    }
                    int[] a0 = accs[0];
                    int[] a1 = accs[1];
                    int[] a2 = accs[2];
                    int[] a3 = accs[3];
                    int[] a4 = accs[4];
                    int[] a5 = accs[5];
                    int[] a6 = accs[6];
                    int[] a7 = accs[7];
                    for (int y = 0; y < s; y++) {
                        int[] row = rc[y0 + y];
                        row[xx] = a0[y];
                        row[xx + 1] = a1[y];
                        row[xx + 2] = a2[y];
                        row[xx + 3] = a3[y];
                        row[xx + 4] = a4[y];
                        row[xx + 5] = a5[y];
                        row[xx + 6] = a6[y];
                        row[xx + 7] = a7[y];
                    }
                }
                int[] acc = accs[0];
                for (; xx < outW; xx++) {
                    mac(acc, cc, min[xx], w, xx * ksize, count[xx], s);
                    clip8(acc, s);
                    for (int y = 0; y < s; y++) {
                        rc[y0 + y][xx] = acc[y];
                    }
                }
            }
        }
    }

    /** Input rows [firstRow, firstRow + rowCount) as int rows per channel (vertical pass only). */
    private static void deinterleave(byte[] rgb, int inW, int firstRow, int rowCount, int[][][] rows) {
        for (int y = 0; y < rowCount; y++) {
            int[] r = rows[0][y];
            int[] g = rows[1][y];
            int[] b = rows[2][y];
            for (int x = 0, p = (firstRow + y) * 3 * inW; x < inW; x++, p += 3) {
                r[x] = rgb[p] & 0xFF;
                g[x] = rgb[p + 1] & 0xFF;
                b[x] = rgb[p + 2] & 0xFF;
            }
        }
    }

    /**
     * {@code acc[i] = HALF + sum over t < n of src[base + t][i] * w[kBase + t]} for i < length;
     * taps four at a time, so that acc is loaded and stored once per four taps.
     */
    private static void mac(int[] acc, int[][] src, int base, int[] w, int kBase, int n, int length) {
        int t = 0;
        if (n >= 4) {
            int[] s0 = src[base];
            int[] s1 = src[base + 1];
            int[] s2 = src[base + 2];
            int[] s3 = src[base + 3];
            int k0 = w[kBase];
            int k1 = w[kBase + 1];
            int k2 = w[kBase + 2];
            int k3 = w[kBase + 3];
            for (int i = 0; i < length; i++) {
                acc[i] = HALF + s0[i] * k0 + s1[i] * k1 + s2[i] * k2 + s3[i] * k3;
            }
            t = 4;
        } else {
            java.util.Arrays.fill(acc, 0, length, HALF);
        }
        for (; t + 4 <= n; t += 4) {
            int[] s0 = src[base + t];
            int[] s1 = src[base + t + 1];
            int[] s2 = src[base + t + 2];
            int[] s3 = src[base + t + 3];
            int k0 = w[kBase + t];
            int k1 = w[kBase + t + 1];
            int k2 = w[kBase + t + 2];
            int k3 = w[kBase + t + 3];
            for (int i = 0; i < length; i++) {
                acc[i] += s0[i] * k0 + s1[i] * k1 + s2[i] * k2 + s3[i] * k3;
            }
        }
        for (; t < n; t++) {
            int[] s0 = src[base + t];
            int k0 = w[kBase + t];
            for (int i = 0; i < length; i++) {
                acc[i] += s0[i] * k0;
            }
        }
    }

    /**
     * Pillow's clip8 of {@code sums[0, length)} in place: each sum shifted down and clipped to
     * 0..255, written with shifts and masks (no conditionals) so that C2 vectorises it.
     */
    private static void clip8(int[] sums, int length) {
        for (int i = 0; i < length; i++) {
            int v = sums[i] >> PRECISION_BITS;
            v &= ~(v >> 31); // negative -> 0
            sums[i] = (v | ((255 - v) >> 31)) & 0xFF; // over 255 -> 255
        }
    }

    /** Output row {@code y} of channel {@code c} from values already in 0..255. */
    private static void sinkValues(
            int[] values, int width, int y, int c, int plane, byte[] outRgb, float[] dest, int offset) {
        if (outRgb != null) {
            for (int x = 0, o = 3 * y * width + c; x < width; x++, o += 3) {
                outRgb[o] = (byte) values[x];
            }
        } else {
            int o = offset + c * plane + y * width;
            float[] rescale = RESCALE;
            for (int x = 0; x < width; x++) {
                dest[o + x] = rescale[values[x]];
            }
        }
    }

    /** Same size: the pixels themselves. */
    private static void copy(byte[] rgb, int pixels, byte[] outRgb, float[] dest, int offset) {
        if (outRgb != null) {
            System.arraycopy(rgb, 0, outRgb, 0, 3 * pixels);
            return;
        }
        float[] rescale = RESCALE;
        for (int i = 0, p = 0; i < pixels; i++, p += 3) {
            dest[offset + i] = rescale[rgb[p] & 0xFF];
            dest[offset + pixels + i] = rescale[rgb[p + 1] & 0xFF];
            dest[offset + 2 * pixels + i] = rescale[rgb[p + 2] & 0xFF];
        }
    }
}
