package ai.radiospark.model;

import ai.radiospark.RadioException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes a RADIO checkpoint directory as {@code save_pretrained} lays it out: {@code config.json}
 * plus {@code model.safetensors}, or shards {@code model-0000k-of-0000n.safetensors} listed in
 * {@code model.safetensors.index.json}. Float tensors are stored as F32, BF16 or F16; each
 * tensor's values are produced only when its turn comes, so a C-RADIOv4-H-sized checkpoint is
 * written with one tensor in heap at a time.
 *
 * <pre>{@code
 * CheckpointWriter.rewrite(Checkpoint.open(src), dst, TensorType.BF16, 2); // BF16, two shards
 * }</pre>
 */
public final class CheckpointWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final RadioConfig config;
    private TensorType floatType = TensorType.F32;
    private int shards = 1;
    private final List<Entry> entries = new ArrayList<>();

    private record Entry(String name, TensorType type, long[] shape, Supplier<ByteBuffer> data) {
        long bytes() {
            return type.bytes(shape);
        }
    }

    public CheckpointWriter(RadioConfig config) {
        this.config = config;
    }

    /** How float tensors are stored: F32 (default), BF16 or F16. */
    public CheckpointWriter optFloatType(TensorType type) {
        if (type != TensorType.F32 && type != TensorType.BF16 && type != TensorType.F16) {
            throw new RadioException("Cannot store weights as " + type + "; use F32, BF16 or F16.");
        }
        this.floatType = type;
        return this;
    }

    /** Splits the tensors over this many shard files (1, the default, writes model.safetensors). */
    public CheckpointWriter optShards(int shards) {
        if (shards < 1) {
            throw new RadioException("A checkpoint needs at least 1 shard, not " + shards + ".");
        }
        this.shards = shards;
        return this;
    }

    /** Adds a float tensor whose values are produced when it is written. */
    public CheckpointWriter add(String name, long[] shape, Supplier<float[]> values) {
        TensorType type = floatType;
        entries.add(new Entry(name, type, shape, () -> encode(values.get(), type)));
        return this;
    }

    /** Adds an int64 tensor, such as {@code summary_idxs}. */
    public CheckpointWriter addInt64(String name, long[] shape, long[] values) {
        entries.add(new Entry(name, TensorType.I64, shape, () -> {
            ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(values);
            return b;
        }));
        return this;
    }

    static ByteBuffer encode(float[] v, TensorType type) {
        ByteBuffer b = ByteBuffer.allocate(v.length * type.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> b.asFloatBuffer().put(v);
            case BF16 -> {
                for (float f : v) {
                    b.putShort(TensorConversions.floatToBf16(f));
                }
                b.flip();
            }
            case F16 -> {
                for (float f : v) {
                    b.putShort(TensorConversions.floatToF16(f));
                }
                b.flip();
            }
            default -> throw new IllegalArgumentException(type.name());
        }
        return b;
    }

    /** Writes config.json and the weights into {@code dir}, creating it. */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(Checkpoint.CONFIG), config.toJson(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RadioException("Cannot write checkpoint to " + dir + ": " + e.getMessage(), e);
        }
        int n = Math.min(shards, Math.max(1, entries.size()));
        if (n == 1) {
            SafetensorsWriter w = new SafetensorsWriter();
            entries.forEach(e -> w.add(e.name(), e.type(), e.shape(), e.data()));
            w.write(dir.resolve(Checkpoint.SINGLE));
            return;
        }
        long total = entries.stream().mapToLong(Entry::bytes).sum();
        long perShard = (total + n - 1) / n;
        List<List<Entry>> groups = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long size = 0;
        for (Entry e : entries) {
            int remainingEntries = entries.size() - entries.indexOf(e);
            int remainingShards = n - groups.size() - 1;
            if (!current.isEmpty()
                    && (size + e.bytes() > perShard || remainingEntries <= remainingShards)
                    && groups.size() < n - 1) {
                groups.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += e.bytes();
        }
        groups.add(current);
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode map = index.putObject("weight_map");
        for (int i = 0; i < groups.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, groups.size());
            SafetensorsWriter w = new SafetensorsWriter();
            for (Entry e : groups.get(i)) {
                w.add(e.name(), e.type(), e.shape(), e.data());
                map.put(e.name(), file);
            }
            w.write(dir.resolve(file));
        }
        try {
            Files.writeString(
                    dir.resolve(Checkpoint.INDEX),
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        } catch (IOException e) {
            throw new RadioException("Cannot write " + dir.resolve(Checkpoint.INDEX) + ": " + e.getMessage(), e);
        }
    }

    /** Re-saves every tensor of a checkpoint with another float type and shard count. */
    public static void rewrite(Checkpoint source, Path dir, TensorType floatType, int shards) {
        CheckpointWriter w =
                new CheckpointWriter(source.config()).optFloatType(floatType).optShards(shards);
        for (Map.Entry<String, TensorInfo> e : source.tensorInfos().entrySet()) {
            TensorInfo info = e.getValue();
            switch (info.type()) {
                case F32, BF16, F16, F64 ->
                    w.add(
                            e.getKey(),
                            info.shape(),
                            () -> source.tensor(e.getKey()).floats());
                default -> {
                    Tensor t = source.tensor(e.getKey());
                    w.entries.add(new Entry(
                            e.getKey(), t.type(), t.shape(), () -> t.data().duplicate()));
                }
            }
        }
        w.write(dir);
    }
}
