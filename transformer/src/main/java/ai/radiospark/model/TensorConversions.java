package ai.radiospark.model;

import ai.radiospark.RadioException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Conversions between safetensors element types and Java arrays. */
final class TensorConversions {
    private TensorConversions() {}

    static float[] toFloats(TensorInfo info, ByteBuffer data) {
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(info.elements());
        float[] out = new float[n];
        switch (info.type()) {
            case F32 -> b.asFloatBuffer().get(out);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bf16ToFloat(b.getShort(2 * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = f16ToFloat(b.getShort(2 * i));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(8 * i);
                }
            }
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = b.getLong(8 * i);
                }
            }
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(4 * i);
                }
            }
            default ->
                throw new RadioException("Tensor '" + info.name() + "' has type " + info.type()
                        + ", which cannot be read as floating point. Re-save the checkpoint in F32, BF16 or F16.");
        }
        return out;
    }

    static long[] toLongs(TensorInfo info, ByteBuffer data, String source) {
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = Math.toIntExact(info.elements());
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (info.type()) {
                case I64 -> b.getLong(8 * i);
                case I32 -> b.getInt(4 * i);
                case I16 -> b.getShort(2 * i);
                case I8, U8 -> b.get(i);
                default ->
                    throw new RadioException("Tensor '" + info.name() + "' in " + source + " has type " + info.type()
                            + ", but an integer tensor was expected. Re-download the checkpoint.");
            };
        }
        return out;
    }

    /**
     * The number of NaN and infinite values in F32, BF16 or F16 data (0 for other types): elements
     * whose exponent field is all ones. Tested on the raw bits, eight bytes at a time (two F32 or four
     * 16-bit lanes per long), and counted one by one only when a lane matches, so a clean tensor costs
     * one pass over its bytes.
     */
    static long nonFinite(TensorType type, ByteBuffer data) {
        int lane;
        long exponent;
        switch (type) {
            case F32 -> {
                lane = 4;
                exponent = 0x7f800000L;
            }
            case BF16 -> {
                lane = 2;
                exponent = 0x7f80L;
            }
            case F16 -> {
                lane = 2;
                exponent = 0x7c00L;
            }
            default -> {
                return 0;
            }
        }
        long mask = lane == 4 ? exponent | exponent << 32 : exponent * 0x0001000100010001L;
        long ones = lane == 4 ? 0x0000000100000001L : 0x0001000100010001L;
        long highs = ones << (8 * lane - 1);
        ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int start = b.position();
        int n = b.remaining();
        int words = n / 8;
        // z has a zero lane exactly where the exponent is all ones; z's lanes never reach their top
        // bit, so the classic has-a-zero-lane test is exact. OR-ing keeps the loop free of branches.
        long any = 0;
        for (int i = 0; i < words; i++) {
            long z = (b.getLong(start + 8 * i) & mask) ^ mask;
            any |= (z - ones) & ~z & highs;
        }
        boolean tail = false;
        for (int i = words * 8; i < n; i += lane) {
            long v = lane == 4 ? b.getInt(start + i) : b.getShort(start + i);
            tail |= (v & exponent) == exponent;
        }
        if (any == 0 && !tail) {
            return 0;
        }
        long count = 0;
        for (int i = 0; i + lane <= n; i += lane) {
            long v = lane == 4 ? b.getInt(start + i) : b.getShort(start + i);
            if ((v & exponent) == exponent) {
                count++;
            }
        }
        return count;
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** Rounds to nearest even, as PyTorch's float-to-bfloat16 conversion does. */
    static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) 0x7fc0;
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static float f16ToFloat(short half) {
        int h = half & 0xffff;
        int sign = (h >>> 15) << 31;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant / 1024f / 16384f; // 2^-14 * mant/2^10
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Rounds to nearest even; overflow becomes infinity, as in IEEE 754 half precision. */
    static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }
}
