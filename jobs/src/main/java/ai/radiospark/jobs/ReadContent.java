package ai.radiospark.jobs;

import ai.radiospark.ml.FileBytes;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Iterator;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;

/**
 * Reads the bytes of listed files inside the task that embeds them: rows of
 * {@code path, byte_size, modification_time} become
 * {@code path, byte_size, modification_time, content, read_error}. A file that cannot be read
 * (missing, not a regular file, no permission, too large, a read over its timeout: see
 * {@link FileBytes}) gets a null content and the reason in {@code read_error}, which becomes the
 * row's error; the other files go on.
 *
 * <p>Reading here rather than through Spark's binaryFile source avoids listing every path of a
 * chunk again (for more than 32 paths Spark runs a listing job of one task per path), and lets
 * the job split a chunk into partitions of equal image counts.
 */
final class ReadContent implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    /** The listing columns this reads. */
    static final StructType LISTED = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("byte_size", DataTypes.LongType, true)
            .add("modification_time", DataTypes.TimestampType, true);

    /** Its output: the listing columns, the bytes, and why they could not be read. */
    static final StructType WITH_CONTENT =
            LISTED.add("content", DataTypes.BinaryType, true).add("read_error", DataTypes.StringType, true);

    private final SerializableConfiguration conf;

    ReadContent(SerializableConfiguration conf) {
        this.conf = conf;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        ExtractFaults.taskHold();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return input.hasNext();
            }

            @Override
            public Row next() {
                Row r = input.next();
                String path = r.getString(0);
                byte[] content = null;
                String error = null;
                try {
                    content = FileBytes.read(path, conf.value());
                } catch (IOException | RuntimeException e) {
                    // Only a missing file may have been deleted since the listing; other reasons say what they are.
                    error = "Cannot read image file " + path + ": "
                            + e.getClass().getSimpleName() + ": " + e.getMessage()
                            + (e instanceof FileNotFoundException
                                    ? ". Was it deleted or replaced since the listing? Check the path"
                                    : ". Check the file, its permissions")
                            + ", and that executors can reach its file system; the next run retries it.";
                }
                return RowFactory.create(path, r.isNullAt(1) ? null : r.getLong(1), r.get(2), content, error);
            }
        };
    }
}
