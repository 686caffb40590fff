package ai.radiospark.model;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes safetensors files, streaming each tensor's bytes so that a large checkpoint needs no
 * more heap than its largest tensor. The file appears atomically: it is written beside the
 * target and then moved into place.
 *
 * <pre>{@code
 * new SafetensorsWriter().add("pixel_values", new long[] {1, 3, 224, 224}, pixels).write(out);
 * }</pre>
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tensor whose bytes are produced when the file is written. */
    private record Entry(String name, TensorType type, long[] shape, Supplier<ByteBuffer> data) {
        long byteLength() {
            return type.bytes(shape);
        }
    }

    private final List<Entry> tensors = new ArrayList<>();
    private final Map<String, String> metadata;

    public SafetensorsWriter() {
        this(Map.of("format", "pt"));
    }

    public SafetensorsWriter(Map<String, String> metadata) {
        this.metadata = metadata;
    }

    /** Adds a float32 tensor. */
    public SafetensorsWriter add(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return add(new Tensor(name, TensorType.F32, shape, b));
    }

    /** Adds float values stored as {@code type} (F32, BF16 or F16), rounding to nearest even. */
    public SafetensorsWriter add(String name, long[] shape, float[] values, TensorType type) {
        if (type == TensorType.F32) {
            return add(name, shape, values);
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(type == TensorType.BF16 ? TensorConversions.floatToBf16(v) : TensorConversions.floatToF16(v));
        }
        b.flip();
        return add(new Tensor(name, type, shape, b));
    }

    /** Adds an int64 tensor. */
    public SafetensorsWriter add(String name, long[] shape, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return add(new Tensor(name, TensorType.I64, shape, b));
    }

    /** Adds a tensor with its raw little-endian bytes. */
    public SafetensorsWriter add(Tensor tensor) {
        long expected = tensor.elements() * tensor.type().bytes();
        if (tensor.data().remaining() != expected) {
            throw new IllegalArgumentException("Tensor '" + tensor.name() + "' " + tensor.type()
                    + java.util.Arrays.toString(tensor.shape()) + " needs " + expected + " bytes, but has "
                    + tensor.data().remaining());
        }
        ByteBuffer data = tensor.data();
        tensors.add(new Entry(tensor.name(), tensor.type(), tensor.shape(), data::duplicate));
        return this;
    }

    /**
     * Adds a tensor whose little-endian bytes are produced only when the file is written, so that
     * large files are written one tensor at a time.
     */
    public SafetensorsWriter add(String name, TensorType type, long[] shape, Supplier<ByteBuffer> data) {
        tensors.add(new Entry(name, type, shape, data));
        return this;
    }

    /** The header this writer would write, padded with spaces to a multiple of 8 bytes. */
    byte[] header() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry t : tensors) {
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", t.type().name());
            var shape = e.putArray("shape");
            for (long s : t.shape()) {
                shape.add(s);
            }
            long len = t.byteLength();
            e.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }

    /** Writes the file atomically. */
    public void write(Path file) {
        Path tmp = file.resolveSibling(
                file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        try {
            if (file.getParent() != null) {
                Files.createDirectories(file.getParent());
            }
            try (FileChannel ch = FileChannel.open(
                    tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] header = header();
                ByteBuffer len =
                        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
                len.flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry t : tensors) {
                    writeFully(ch, checked(t));
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original failure is what matters
            }
            throw new RadioException(
                    "Cannot write " + file + ": " + e.getMessage()
                            + ". Check that the folder is writable and the disk has room.",
                    e);
        }
    }

    /** The whole file as bytes (for small files and tests). */
    public byte[] toBytes() {
        byte[] header = header();
        long size = 8 + header.length;
        for (Entry t : tensors) {
            size += t.byteLength();
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header);
        for (Entry t : tensors) {
            out.put(checked(t));
        }
        return out.array();
    }

    private static ByteBuffer checked(Entry t) {
        ByteBuffer b = t.data().get();
        if (b.remaining() != t.byteLength()) {
            throw new IllegalStateException(
                    "Tensor '" + t.name() + "' produced " + b.remaining() + " bytes, not " + t.byteLength());
        }
        return b;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
