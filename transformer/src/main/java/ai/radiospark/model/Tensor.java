package ai.radiospark.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.Function;

/**
 * A named tensor as stored: element type, shape and raw little-endian bytes (a memory map of a
 * checkpoint file, or heap bytes).
 *
 * <p>A tensor of a checkpoint file keeps a memory map of its bytes ({@link #data()}), and is read in bulk
 * ({@link #read}, {@link #floats()}, the model build) through a map of its own that is unmapped right
 * after. Pages read through a map stay in the process's resident memory for as long as the map lives:
 * reading a 2.6 GB checkpoint through maps that live as long as the weights kept the whole checkpoint
 * resident beside the model's own copy (issue 17: peak RSS 2.5x the weights). Unmapped, the pages are
 * only in the page cache, which the kernel reclaims.
 */
public final class Tensor {
    private final String name;
    private final TensorType type;
    private final long[] shape;
    private final ByteBuffer data;
    /** The file and the name in it that {@link #read} maps afresh; null for bytes in memory. */
    private final SafetensorsFile file;

    private final String fileName;

    public Tensor(String name, TensorType type, long[] shape, ByteBuffer data) {
        this(name, type, shape, data, null, null);
    }

    private Tensor(String name, TensorType type, long[] shape, ByteBuffer data, SafetensorsFile file, String fileName) {
        this.name = name;
        this.type = type;
        this.shape = shape;
        this.data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
        this.fileName = fileName;
    }

    /** Tensor {@code name} of a checkpoint file, read through short-lived maps ({@link #read}). */
    static Tensor ofFile(SafetensorsFile file, String name) {
        TensorInfo info = file.info(name);
        return new Tensor(name, info.type(), info.shape(), file.data(name), file.mapsFile() ? file : null, name);
    }

    public String name() {
        return name;
    }

    public TensorType type() {
        return type;
    }

    public long[] shape() {
        return shape;
    }

    /**
     * The raw little-endian bytes. For a tensor of a checkpoint file, a map that lives as long as this
     * tensor: pages read through it stay resident, so read in bulk through {@link #read} instead.
     */
    public ByteBuffer data() {
        return data;
    }

    public long elements() {
        return TensorType.elements(shape);
    }

    /** The values as float32. */
    public float[] floats() {
        return read(b -> TensorConversions.toFloats(new TensorInfo(name, type, shape, 0, b.remaining()), b));
    }

    /**
     * Applies {@code use} to the tensor's bytes (position 0, little-endian). A tensor of a checkpoint
     * file is mapped for this call alone and unmapped when {@code use} returns, so {@code use} must not
     * keep the buffer, nor anything over its memory, beyond the call.
     */
    public <T> T read(Function<ByteBuffer, T> use) {
        ByteBuffer mapped = openMap();
        try {
            return use.apply(mapped != null ? mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN) : data.duplicate());
        } finally {
            NativeBuffers.unmap(mapped);
        }
    }

    /**
     * For a tensor of a checkpoint file, a new map of its bytes that the caller must release with
     * {@link NativeBuffers#unmap} once nothing uses it; null for bytes in memory ({@link #data()}).
     */
    ByteBuffer openMap() {
        return file == null ? null : file.map(fileName);
    }

    Tensor renamed(String newName) {
        return new Tensor(newName, type, shape, data, file, fileName);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t
                && t.name.equals(name)
                && t.type == type
                && Arrays.equals(t.shape, shape)
                && t.data.equals(data);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }
}
