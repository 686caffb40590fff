package ai.radiospark.model;

import ai.radiospark.RadioException;

/** Element types of safetensors files, with their names there and their sizes in bytes. */
public enum TensorType {
    F64(8),
    F32(4),
    F16(2),
    BF16(2),
    I64(8),
    I32(4),
    I16(2),
    I8(1),
    U8(1),
    BOOL(1);

    private final int bytes;

    TensorType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The bytes of a tensor of this type and {@code shape}. */
    public long bytes(long[] shape) {
        return bytes * elements(shape);
    }

    /** The number of elements of a tensor of {@code shape}: the product of its dimensions. */
    public static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    static TensorType parse(String name, String tensor, String file) {
        try {
            return valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new RadioException("Tensor '" + tensor + "' in " + file + " has dtype \"" + name
                    + "\", which radio-spark does not read (it reads F32, F16, BF16, F64 and integer types). "
                    + "Re-save the checkpoint in F32, BF16 or F16.");
        }
    }
}
