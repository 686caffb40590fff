package ai.radiospark.model;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Direct buffers that are freed when a batch ends rather than when the garbage collector gets
 * round to them. DJL copies every Java array it turns into a tensor through a fresh direct
 * buffer; with a large heap, those buffers pile up between collections (measured: +400 MB
 * of RSS over 200 batches of 4 images at 224²). Handing DJL our own buffer and freeing it with
 * {@code Unsafe.invokeCleaner} keeps native memory flat.
 */
final class NativeBuffers {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Without jdk.unsupported the buffers are simply left to the garbage collector.
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    private NativeBuffers() {}

    /** A native-order direct buffer holding {@code values}. */
    static ByteBuffer of(float[] values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        b.asFloatBuffer().put(values);
        return b;
    }

    /** A direct buffer holding a copy of {@code bytes}' remaining bytes, in their byte order. */
    static ByteBuffer copyOf(ByteBuffer bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(bytes.remaining()).order(bytes.order());
        b.put(bytes.duplicate()).flip();
        return b;
    }

    /** Frees a buffer made by {@link #of} or {@link #copyOf}; it must not be used afterwards. */
    static void free(ByteBuffer b) {
        if (INVOKE_CLEANER != null && b != null) {
            try {
                INVOKE_CLEANER.invoke(UNSAFE, b);
            } catch (ReflectiveOperationException e) {
                // Left to the garbage collector.
            }
        }
    }
}
