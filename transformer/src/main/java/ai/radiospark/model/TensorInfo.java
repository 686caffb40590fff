package ai.radiospark.model;

import java.util.Arrays;

/**
 * One entry of a safetensors header: name, element type, shape and where its bytes are.
 *
 * @param name tensor name
 * @param type element type
 * @param shape dimensions, outermost first
 * @param begin first byte in the file's data section
 * @param end one past the last byte in the data section
 */
public record TensorInfo(String name, TensorType type, long[] shape, long begin, long end) {

    /** Number of elements, the product of the shape. */
    public long elements() {
        return TensorType.elements(shape);
    }

    public long byteLength() {
        return end - begin;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && t.name.equals(name)
                && t.type == type
                && Arrays.equals(t.shape, shape)
                && t.begin == begin
                && t.end == end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape);
    }
}
