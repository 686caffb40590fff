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
 * <p>Thread-safe: coefficient tables are immutable and shared through a bounded cache.
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

  private static int clip8(int in) {
    if (in >= (1 << PRECISION_BITS << 8)) {
      return 255;
    }
    if (in <= 0) {
      return 0;
    }
    return in >> PRECISION_BITS;
  }

  /**
   * Resizes packed RGB ({@code 3 * inWidth * inHeight} bytes, row-major) to outWidth x outHeight.
   * Returns the input array itself when the size does not change.
   */
  static byte[] resize(byte[] rgb, int inWidth, int inHeight, int outWidth, int outHeight) {
    boolean horizontal = outWidth != inWidth;
    boolean vertical = outHeight != inHeight;
    if (!horizontal && !vertical) {
      return rgb;
    }
    Coefficients v = vertical ? coefficients(inHeight, outHeight) : null;
    byte[] current = rgb;
    if (horizontal) {
      Coefficients h = coefficients(inWidth, outWidth);
      int firstRow = 0;
      int lastRow = inHeight;
      if (vertical) {
        firstRow = v.min[0];
        lastRow = v.min[outHeight - 1] + v.count[outHeight - 1];
      }
      current = horizontalPass(rgb, inWidth, firstRow, lastRow, outWidth, h);
      if (vertical) {
        return verticalPass(current, outWidth, outHeight, v, firstRow);
      }
      return current;
    }
    return verticalPass(current, outWidth, outHeight, v, 0);
  }

  private static byte[] horizontalPass(
      byte[] in, int inWidth, int firstRow, int lastRow, int outWidth, Coefficients c) {
    int rows = lastRow - firstRow;
    byte[] out = new byte[rows * outWidth * 3];
    final int half = 1 << (PRECISION_BITS - 1);
    final int ksize = c.ksize;
    final int[] w = c.weights;
    int o = 0;
    for (int y = 0; y < rows; y++) {
      int rowBase = (y + firstRow) * inWidth * 3;
      for (int xx = 0; xx < outWidth; xx++) {
        int xmin = c.min[xx];
        int n = c.count[xx];
        int kBase = xx * ksize;
        int s0 = half;
        int s1 = half;
        int s2 = half;
        int p = rowBase + xmin * 3;
        for (int x = 0; x < n; x++, p += 3) {
          int k = w[kBase + x];
          s0 += (in[p] & 0xFF) * k;
          s1 += (in[p + 1] & 0xFF) * k;
          s2 += (in[p + 2] & 0xFF) * k;
        }
        out[o++] = (byte) clip8(s0);
        out[o++] = (byte) clip8(s1);
        out[o++] = (byte) clip8(s2);
      }
    }
    return out;
  }

  /** {@code rowOffset} is subtracted from the coefficient bounds (rows already cropped away). */
  private static byte[] verticalPass(
      byte[] in, int width, int outHeight, Coefficients c, int rowOffset) {
    byte[] out = new byte[outHeight * width * 3];
    final int half = 1 << (PRECISION_BITS - 1);
    final int stride = width * 3;
    final int ksize = c.ksize;
    final int[] w = c.weights;
    final int[] acc = new int[stride];
    for (int yy = 0; yy < outHeight; yy++) {
      int ymin = c.min[yy] - rowOffset;
      int n = c.count[yy];
      int kBase = yy * ksize;
      java.util.Arrays.fill(acc, half);
      // Row-by-row accumulation: same sums as Pillow's per-pixel loop (integer addition is
      // associative), but streams through memory.
      for (int y = 0; y < n; y++) {
        int k = w[kBase + y];
        int p = (ymin + y) * stride;
        for (int i = 0; i < stride; i++) {
          acc[i] += (in[p + i] & 0xFF) * k;
        }
      }
      int o = yy * stride;
      for (int i = 0; i < stride; i++) {
        out[o + i] = (byte) clip8(acc[i]);
      }
    }
    return out;
  }
}
