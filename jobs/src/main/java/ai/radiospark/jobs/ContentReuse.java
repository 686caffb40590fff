package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * Reuse of embeddings of identical content: an image whose bytes (its {@code content_sha256}) the
 * table already holds a row of, made as this run makes them and without error, takes that row's
 * embedding instead of being embedded again.
 */
final class ContentReuse {
    private final EmbeddingTable table;
    private final TableSettings settings;

    ContentReuse(EmbeddingTable table, TableSettings settings) {
        this.table = table;
        this.settings = settings;
    }

    /**
     * A chunk's source split in two.
     *
     * @param toEmbed the source rows whose content the table has no donor for
     * @param reused table rows for the others, cached: {@link Dataset#unpersist()} them after the write
     * @param count how many were reused
     */
    record Split(Dataset<Row> toEmbed, Dataset<Row> reused, long count) {}

    /** Splits {@code source} (the chunk's rows with their {@code content_sha256}) by whether a donor exists. */
    Split split(Dataset<Row> source) {
        Dataset<Row> donors = table.read()
                .where(settings.madeByRun(table, "").and(col("error").isNull()))
                .dropDuplicates("content_sha256")
                .select(tableColumnsPrefixed("d_"));
        Column[] sourceColumns =
                Arrays.stream(source.columns()).map(c -> col(c)).toArray(Column[]::new);
        Dataset<Row> joined = source.join(donors, col("content_sha256").equalTo(col("d_content_sha256")), "left");
        Dataset<Row> reuse = reused(joined.where(col("d_content_sha256").isNotNull()), settings.runRow())
                .cache();
        // Counted (and cached) before the write: afterwards the table itself would be a donor.
        long count = reuse.count();
        return new Split(joined.where(col("d_content_sha256").isNull()).select(sourceColumns), reuse, count);
    }

    private static Column[] tableColumnsPrefixed(String prefix) {
        return ExtractJob.COLUMNS.stream().map(c -> col(c).as(prefix + c)).toArray(Column[]::new);
    }

    /** Rows for images whose content the table already embedded with this checkpoint. */
    private static Dataset<Row> reused(Dataset<Row> joined, String runRow) {
        List<Column> cols = new ArrayList<>();
        for (String c : ExtractJob.COLUMNS) {
            switch (c) {
                case "path", "content_sha256", "byte_size", "modification_time" -> cols.add(col(c));
                case "processed_at" -> cols.add(current_timestamp().as(c));
                case "settings" -> cols.add(lit(runRow).as(c));
                default -> cols.add(col("d_" + c).as(c));
            }
        }
        return joined.select(cols.toArray(new Column[0]));
    }
}
