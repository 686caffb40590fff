package ai.radiospark.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor as stored: element type, shape and raw little-endian bytes (a memory map of a
 * checkpoint file, or heap bytes).
 */
public record Tensor(String name, TensorType type, long[] shape, ByteBuffer data) {

    public Tensor {
        data = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    public long elements() {
        return TensorType.elements(shape);
    }

    /** The values as float32. */
    public float[] floats() {
        return TensorConversions.toFloats(new TensorInfo(name, type, shape, 0, data.remaining()), data);
    }

    Tensor renamed(String newName) {
        return new Tensor(newName, type, shape, data);
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
