package ai.radiospark.ml;

import ai.radiospark.RadioException;
import ai.radiospark.runtime.PixelSource;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The input side of {@link EmbedPartition}: reads a row's image from the input column (encoded
 * bytes, a path read through the Hadoop FileSystem, or the image source's struct) and decodes it
 * with the task's {@link PixelSource}. {@link #decode} runs on {@link ai.radiospark.runtime.DecodeAhead}'s
 * decoder threads; it sees only the row handed to it, never the input iterator.
 */
final class PartitionInput {
    private final EmbedPartition.Config cfg;
    private final PixelSource source;
    private final SerializableConfiguration hadoopConf;
    private final TaskContext ctx;
    private final AtomicLong decodeNanos = new AtomicLong();

    /** {@code hadoopConf}: for path input (else null); {@code ctx}: the task's (null outside a task). */
    PartitionInput(
            EmbedPartition.Config cfg, PixelSource source, SerializableConfiguration hadoopConf, TaskContext ctx) {
        this.cfg = cfg;
        this.source = source;
        this.hadoopConf = hadoopConf;
        this.ctx = ctx;
    }

    /** Time spent decoding, summed over the decoder threads. */
    long decodeNanos() {
        return decodeNanos.get();
    }

    /** Row {@code i} of the partition as pixels; throws why it cannot be decoded. */
    PixelSource.Pixels decode(Row row, long i) {
        long t0 = System.nanoTime();
        try {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("cancelled");
            }
            return pixels(row, i);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RadioException("Decoding was cancelled.", e);
        } finally {
            decodeNanos.addAndGet(System.nanoTime() - t0);
        }
    }

    private PixelSource.Pixels pixels(Row row, long i) {
        int c = cfg.inputIndex();
        if (row.isNullAt(c)) {
            throw new RadioException(
                    "The input column is null in this row. Filter out rows without images, or " + "fix the input.");
        }
        String name = name(row, i);
        switch (cfg.kind()) {
            case BINARY:
                return source.decode((byte[]) row.get(c), name);
            case PATH:
                return source.decode(readFile(row.getString(c)), name);
            case IMAGE_STRUCT:
                Row img = row.getStruct(c);
                return ImageStructs.toPixels(img, name, source);
            default:
                throw new AssertionError(cfg.kind());
        }
    }

    private byte[] readFile(String path) {
        try {
            return FileBytes.read(path, hadoopConf.value());
        } catch (IOException | IllegalArgumentException e) {
            throw new RadioException(
                    "Cannot read image file " + path + ": " + e.getClass().getSimpleName() + ": " + e.getMessage()
                            + ". Check the path, and that executors can reach its file system.",
                    e);
        }
    }

    /** The row's name for messages: its path (or origin), else its position. */
    String name(Row row, long i) {
        int c = cfg.inputIndex();
        try {
            if (cfg.kind() == EmbedderSchema.InputKind.PATH && !row.isNullAt(c)) {
                return row.getString(c);
            }
            if (cfg.kind() == EmbedderSchema.InputKind.IMAGE_STRUCT && !row.isNullAt(c)) {
                Row img = row.getStruct(c);
                int o = ImageStructs.originIndex(img);
                if (o >= 0 && !img.isNullAt(o)) {
                    return img.getString(o);
                }
            }
            if (cfg.nameIndex() >= 0 && !row.isNullAt(cfg.nameIndex())) {
                return row.getString(cfg.nameIndex());
            }
        } catch (RuntimeException e) {
            // fall through to the position
        }
        return "row " + i + " of partition " + (ctx == null ? 0 : ctx.partitionId());
    }
}
