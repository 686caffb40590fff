package ai.radiospark.runtime;

/**
 * IEEE 754 binary16 ("half") conversion, round-to-nearest-even, as Java 20's
 * {@code Float.floatToFloat16} does (this project targets Java 17).
 */
public final class Half {
    private Half() {}

    /** The binary16 bits of {@code f}, rounded to nearest, ties to even; NaN stays NaN. */
    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int val = bits & 0x7fffffff;
        if (val >= 0x7f800000) { // Inf or NaN
            return (short) (sign | 0x7c00 | (val > 0x7f800000 ? 0x200 | ((val >>> 13) & 0x3ff) : 0));
        }
        if (val >= 0x477ff000) { // >= 65520 rounds to infinity
            return (short) (sign | 0x7c00);
        }
        if (val < 0x38800000) { // below 2^-14: subnormal half, or zero
            if (val < 0x33000000) { // below 2^-25: rounds to zero
                return (short) sign;
            }
            int exp = val >>> 23;
            int mant = (val & 0x7fffff) | 0x800000;
            int shift = 126 - exp;
            int m = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (m & 1) == 1)) {
                m++;
            }
            return (short) (sign | m);
        }
        int h = (val - 0x38000000) >>> 13;
        int rem = val & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) {
            h++;
        }
        return (short) (sign | h);
    }

    /** The float value of binary16 bits (exact). */
    static float toFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** {@code values} as little-endian binary16, two bytes each. */
    public static byte[] encode(float[] values) {
        byte[] out = new byte[values.length * 2];
        for (int i = 0; i < values.length; i++) {
            short s = fromFloat(values[i]);
            out[2 * i] = (byte) s;
            out[2 * i + 1] = (byte) (s >>> 8);
        }
        return out;
    }

    /** Decodes little-endian binary16 bytes, as written by {@link #encode} (featuresType float16). */
    public static float[] decode(byte[] bytes) {
        float[] out = new float[bytes.length / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = toFloat((short) ((bytes[2 * i] & 0xff) | (bytes[2 * i + 1] << 8)));
        }
        return out;
    }
}
