package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;

import ai.radiospark.jobs.ExtractJob.WriteMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * The images a run embeds, sorted by path: in merge mode into an existing table, the listed images
 * the table does not hold as this run would make them (new, changed, made with other settings or
 * checkpoint, read errors, and refused images with {@code --retry-errors}); otherwise every listed
 * image. At most {@code --limit} of them.
 *
 * @param todo the candidates' metadata (path, byte_size, modification_time; no bytes): the chunks are made of these
 * @param paths the candidates' paths, in the same order
 * @param listed images listed
 * @param unchanged listed images the table holds as this run would make them
 * @param cut whether {@code --limit} left candidates out
 */
record Candidates(List<Row> todo, List<String> paths, long listed, long unchanged, boolean cut) {

    /**
     * @param exists whether the table exists
     * @param targetRow the {@code settings} a row without settings has: the table's target settings
     * @param folder the listed images of a folder input, else null (a table input, read by Spark)
     */
    static Candidates select(
            EmbeddingTable table,
            boolean exists,
            WriteMode mode,
            TableSettings settings,
            String targetRow,
            boolean retryErrors,
            long limit,
            ImageListing listing,
            List<Row> folder) {
        List<Row> todo;
        long listed;
        if (mode == WriteMode.MERGE && exists) {
            // Made as this run would make them: this checkpoint, these settings (a null: the table's).
            Column made = TableSettings.made(table, "", settings.sha(), settings.runRow(), targetRow);
            // Unchanged: same path, size and modification time, made as this run would make them, and its
            // bytes were read (a read error is retried on every run; a refused image with --retry-errors).
            Column keep = made.and(col("content_sha256").isNotNull());
            if (retryErrors) {
                keep = keep.and(col("error").isNull());
            }
            Dataset<Row> done = table.read()
                    .where(keep)
                    .select(
                            col("path").as("t_path"),
                            col("byte_size").as("t_size"),
                            col("modification_time").as("t_mtime"));
            Column same = col("path")
                    .equalTo(col("t_path"))
                    .and(col("byte_size").equalTo(col("t_size")))
                    .and(col("modification_time").equalTo(col("t_mtime")));
            // A table's listing is read twice, by the anti-join and by the count: cached for the two.
            Dataset<Row> files =
                    folder != null ? listing.asDataset(folder) : listing.files().cache();
            todo = new ArrayList<>(files.join(done, same, "left_anti")
                    .select("path", "byte_size", "modification_time")
                    .collectAsList());
            if (folder != null) {
                listed = folder.size();
            } else {
                listed = files.count();
                // Cached plans are matched by shape: a stale listing must not serve the next run.
                files.unpersist();
            }
        } else {
            todo = new ArrayList<>(folder != null ? folder : listing.files().collectAsList());
            listed = todo.size();
        }
        todo.sort(Comparator.comparing(r -> r.getString(0)));
        long unchanged = listed - todo.size();
        boolean cut = limit > 0 && todo.size() > limit;
        if (cut) {
            todo = todo.subList(0, (int) limit);
        }
        List<String> paths = todo.stream().map(r -> r.getString(0)).toList();
        return new Candidates(todo, paths, listed, unchanged, cut);
    }
}
