package ai.radiospark.model;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header mapping each tensor
 * name to {@code dtype}, {@code shape} and {@code data_offsets}, then the raw little-endian data.
 *
 * <p>Files are memory-mapped, so a multi-gigabyte checkpoint costs no heap: each tensor is
 * read through its own mapping when it is asked for. Every header entry is checked against the
 * file's size when the file is opened, so a truncated file or a header that lies about its
 * sizes fails at once, naming the tensor.
 *
 * <pre>{@code
 * SafetensorsFile file = SafetensorsFile.open(Path.of("model.safetensors"));
 * float[] w = file.floats("radio_model.model.patch_generator.embedder.weight");
 * }</pre>
 */
public final class SafetensorsFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Headers are a few hundred kilobytes even for C-RADIOv4-H; anything this large is corrupt. */
    private static final long MAX_HEADER = 100L << 20;

    private final String source;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    /**
     * The file, open for as long as this object lives (the garbage collector closes it): every map is made
     * from it, so a checkpoint replaced on disk (a re-download moved into place) after it was opened
     * does not change the weights read.
     */
    private final FileChannel channel;

    private final ByteBuffer bytes;
    private final long dataStart;

    private SafetensorsFile(
            String source, FileChannel channel, ByteBuffer bytes, long size, ByteBuffer headerLen, ByteBuffer header) {
        this.source = source;
        this.channel = channel;
        this.bytes = bytes;
        long n = headerLen.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        this.dataStart = 8 + n;
        Map<String, TensorInfo> map = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        parseHeader(header, size - dataStart, map, meta);
        this.tensors = Collections.unmodifiableMap(map);
        this.metadata = Collections.unmodifiableMap(meta);
    }

    /** Opens and validates a file; its tensors are read lazily through memory maps. */
    public static SafetensorsFile open(Path path) {
        FileChannel ch = null;
        boolean ok = false;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
            long size = ch.size();
            ByteBuffer len = ByteBuffer.allocate(8);
            long n = readHeaderLength(ch, len, size, path.toString());
            ByteBuffer header = ByteBuffer.allocate((int) n);
            while (header.hasRemaining()) {
                if (ch.read(header, 8 + header.position()) < 0) {
                    throw truncatedHeader(path.toString(), n, size);
                }
            }
            header.flip();
            SafetensorsFile f = new SafetensorsFile(path.toString(), ch, null, size, len, header);
            ok = true;
            return f;
        } catch (NoSuchFileException e) {
            throw new RadioException(
                    "Checkpoint file " + path + " does not exist. "
                            + "Check the model path, or re-download the checkpoint.",
                    e);
        } catch (IOException e) {
            throw new RadioException("Cannot read checkpoint file " + path + ": " + e.getMessage(), e);
        } finally {
            if (!ok && ch != null) {
                try {
                    ch.close();
                } catch (IOException e) {
                    // failing already
                }
            }
        }
    }

    /** Reads a file held in memory, for example the bytes a Spark broadcast delivered. */
    public static SafetensorsFile of(String name, ByteBuffer bytes) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long size = b.remaining();
        if (size < 8) {
            throw new RadioException("Checkpoint file " + name + " is truncated: it has " + size
                    + " bytes, fewer than the 8 of a safetensors header length. Re-download the checkpoint.");
        }
        long n = b.getLong(b.position());
        checkHeaderLength(n, size, name);
        ByteBuffer header = b.slice(b.position() + 8, (int) n);
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
        return new SafetensorsFile(name, null, b.slice(), size, len, header);
    }

    private static long readHeaderLength(FileChannel ch, ByteBuffer len, long size, String source) throws IOException {
        if (size < 8) {
            throw new RadioException("Checkpoint file " + source + " is truncated: it has " + size
                    + " bytes, fewer than the 8 of a safetensors header length. Re-download the checkpoint.");
        }
        while (len.hasRemaining()) {
            ch.read(len, len.position());
        }
        long n = len.order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        checkHeaderLength(n, size, source);
        return n;
    }

    private static void checkHeaderLength(long n, long size, String source) {
        if (n <= 0 || n > MAX_HEADER) {
            throw new RadioException(
                    "Checkpoint file " + source + " is not a safetensors file: its header length field says " + n
                            + " bytes. Re-download the checkpoint, or check that the file is a .safetensors file.");
        }
        if (8 + n > size) {
            throw truncatedHeader(source, n, size);
        }
    }

    private static RadioException truncatedHeader(String source, long n, long size) {
        return new RadioException("Checkpoint file " + source + " is truncated: its header needs " + (8 + n)
                + " bytes but the file has " + size + ". Re-download the checkpoint.");
    }

    private void parseHeader(
            ByteBuffer header, long dataLength, Map<String, TensorInfo> map, Map<String, String> meta) {
        JsonNode root;
        try {
            byte[] h = new byte[header.remaining()];
            header.duplicate().get(h);
            root = JSON.readTree(new String(h, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new RadioException(
                    "Checkpoint file " + source + " has a corrupt safetensors header (" + e.getMessage()
                            + "). Re-download the checkpoint.",
                    e);
        }
        if (root == null || !root.isObject()) {
            throw new RadioException("Checkpoint file " + source
                    + " has a corrupt safetensors header (not a JSON object). Re-download the checkpoint.");
        }
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            if ("__metadata__".equals(name)) {
                v.properties().forEach(m -> meta.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode shapeNode = v.get("shape");
            JsonNode offsets = v.get("data_offsets");
            if (!v.hasNonNull("dtype")
                    || shapeNode == null
                    || !shapeNode.isArray()
                    || offsets == null
                    || !offsets.isArray()
                    || offsets.size() != 2) {
                throw new RadioException("Checkpoint file " + source + " has a corrupt header entry for tensor '" + name
                        + "': " + v + ". Re-download the checkpoint.");
            }
            TensorType type = TensorType.parse(v.get("dtype").asText(), name, source);
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) {
                    throw new RadioException("Checkpoint file " + source + " gives tensor '" + name
                            + "' the invalid shape " + shapeNode + ". Re-download the checkpoint.");
                }
            }
            long begin = offsets.get(0).asLong(-1);
            long end = offsets.get(1).asLong(-1);
            TensorInfo info = new TensorInfo(name, type, shape, begin, end);
            long expected = info.elements() * type.bytes();
            if (begin < 0 || end < begin || end - begin != expected) {
                throw new RadioException("Checkpoint file " + source + " has a header that lies about tensor '" + name
                        + "': " + type + info.shapeString() + " needs " + expected + " bytes, but its data_offsets "
                        + offsets + " span " + (end - begin) + ". Re-download the checkpoint.");
            }
            if (end > dataLength) {
                throw new RadioException("Checkpoint file " + source + " is truncated: tensor '" + name
                        + "' needs bytes up to " + end + " of the data section, but the file has only " + dataLength
                        + " data bytes. Re-download the checkpoint (a download may have stopped early).");
            }
            map.put(name, info);
        }
    }

    public String source() {
        return source;
    }

    /** The tensors, in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new RadioException("Checkpoint file " + source + " has no tensor '" + name + "'.");
        }
        return info;
    }

    /** The raw little-endian bytes of a tensor: a memory map of the file, or a slice of its bytes. */
    public ByteBuffer data(String name) {
        TensorInfo info = info(name);
        int length = length(info);
        if (bytes != null) {
            return bytes.slice((int) (dataStart + info.begin()), length).order(ByteOrder.LITTLE_ENDIAN);
        }
        return map(info, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Whether the tensors are read from a file through memory maps (not from bytes held in memory). */
    boolean mapsFile() {
        return bytes == null;
    }

    /**
     * A new memory map of a tensor of a file ({@link #mapsFile}), which {@link NativeBuffers#unmap} can
     * release: a map of its own, not a slice or duplicate.
     */
    MappedByteBuffer map(String name) {
        TensorInfo info = info(name);
        return map(info, length(info));
    }

    private int length(TensorInfo info) {
        long length = info.byteLength();
        if (length > Integer.MAX_VALUE) {
            throw new RadioException("Tensor '" + info.name() + "' in " + source + " has " + length
                    + " bytes; radio-spark reads tensors of at most 2 GiB each.");
        }
        return (int) length;
    }

    private MappedByteBuffer map(TensorInfo info, int length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), length);
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read tensor '" + info.name() + "' from " + source + ": " + e.getMessage(), e);
        }
    }

    /** A tensor's values as float32, converted from F32, F16, BF16, F64 or an integer type. */
    public float[] floats(String name) {
        return Tensor.ofFile(this, name).floats();
    }

    /** A tensor's values as long, for integer tensors such as {@code summary_idxs}. */
    public long[] longs(String name) {
        return TensorConversions.toLongs(info(name), data(name), source);
    }
}
