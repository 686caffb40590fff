package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.when;

import ai.radiospark.jobs.ExtractJob.Output;
import ai.radiospark.jobs.ExtractJob.Summary;
import ai.radiospark.jobs.ExtractJob.WriteMode;
import ai.radiospark.ml.RadioEmbedder;
import java.io.PrintStream;
import java.util.List;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * The write path of {@code radio extract}: the candidates in chunks of {@code --commit-every},
 * each embedded (or its identical content reused), kept, and written to the table in one commit
 * with the run's settings as commit metadata, so that a killed run loses at most one chunk.
 */
final class ChunkWriter {
    private final SparkSession spark;
    private final ExtractOptions o;
    private final RadioEmbedder embedder;
    private final TableSettings settings;
    private final ImageListing listing;
    /** Where progress lines go. */
    private final PrintStream out;
    /** Logs the time since the last step, named. */
    private final Consumer<String> lap;

    ChunkWriter(
            SparkSession spark,
            ExtractOptions o,
            RadioEmbedder embedder,
            TableSettings settings,
            ImageListing listing,
            PrintStream out,
            Consumer<String> lap) {
        this.spark = spark;
        this.o = o;
        this.embedder = embedder;
        this.settings = settings;
        this.listing = listing;
        this.out = out;
        this.lap = lap;
    }

    /**
     * Embeds and writes the candidates in chunks of {@code --commit-every}, one commit each.
     *
     * @param exists whether the table exists
     * @param others rows of other settings, deleted by the last chunk's MERGE; null for none
     * @param start when the run started (System.nanoTime)
     */
    Summary write(Output output, boolean exists, Candidates c, Column others, long start) {
        List<String> paths = c.paths();
        // Each chunk's rows are persisted before its MERGE, which then reads them twice without
        // re-embedding (a retried MERGE too): Delta need not materialize the source again.
        spark.conf().set("spark.databricks.delta.merge.materializeSource", "none");
        ExtractProgress progress = new ExtractProgress(spark.sparkContext(), embedder.uid(), paths.size(), start);
        progress.printEvery(o.progressSeconds(), out, embedder::getLastMetrics);
        long reused = 0;
        try {
            for (int from = 0; from < paths.size(); from += o.commitEvery()) {
                int to = Math.min(paths.size(), from + o.commitEvery());
                boolean last = to == paths.size();
                reused += writeChunk(
                        output,
                        exists,
                        c.todo().subList(from, to),
                        paths.subList(from, to),
                        from == 0,
                        last ? others : null,
                        progress,
                        reused);
                exists = true;
            }
        } finally {
            progress.close();
            spark.conf().unset(ExtractJob.COMMIT_METADATA);
        }
        long failed = progress.failed();
        long embeddedCount = progress.processed() - failed;
        Long version = output.table().exists() ? output.table().version() : null;
        lap.accept("version read");
        return new Summary(
                c.listed(),
                c.unchanged(),
                reused,
                embeddedCount,
                failed,
                (System.nanoTime() - start) / 1e9,
                version,
                false);
    }

    /**
     * Embeds one chunk (reusing the embeddings of content the table holds, in merge mode) and writes
     * it in one commit; a new table is created empty first. Returns how many images reused an embedding.
     *
     * @param others rows of other settings the chunk's MERGE deletes, and then the re-embedding is finished; or null
     * @param reusedBefore images of earlier chunks that reused an embedding
     */
    private long writeChunk(
            Output output,
            boolean exists,
            List<Row> chunkRows,
            List<String> chunk,
            boolean first,
            Column others,
            ExtractProgress progress,
            long reusedBefore) {
        EmbeddingTable table = output.table();
        spark.conf().set(ExtractJob.COMMIT_METADATA, settings.commitInfo(chunk.size()));
        progress.chunkStarted();
        int partitions = ImageListing.partitions(
                chunkRows.size(),
                o.embedding().batchSize(),
                spark.sparkContext().defaultParallelism());
        Dataset<Row> source = ExtractFaults.injectTaskFailure(listing.withContent(chunkRows, partitions))
                .withColumn("content_sha256", sha2(col("content"), 256));
        ContentReuse.Split reuse = null;
        if (output.mode() == WriteMode.MERGE && exists) {
            reuse = new ContentReuse(table, settings).split(source);
            source = reuse.toEmbed();
        }
        long reused = reuse == null ? 0 : reuse.count();
        Dataset<Row> embedded = toTableRows(embedder.transform(source));
        Dataset<Row> planned = reuse == null ? embedded : embedded.unionByName(reuse.reused());
        // The chunk's rows, embedded once and kept (spilled to disk if need be): the MERGE reads its
        // source twice, and a retried MERGE again, from these. A Dataset over the persisted RDD, as
        // Spark's plan cache does not reliably match the MERGE's rewritten source.
        JavaRDD<Row> kept = planned.javaRDD().persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> rows = spark.createDataFrame(kept, planned.schema());
        if (first) {
            ExtractFaults.fault("before-first-commit");
        }
        if (!exists) {
            table.createEmpty(rows.schema(), output.partitionBy(), o.newTableProperties(settings));
            // Another run may have created it first, with its own settings.
            settings.guard(table, TableSettings.targetSettings(table.properties()), output.mode(), o.reembed());
            ExtractFaults.fault("after-create");
        }
        try {
            kept.count(); // embeds the chunk
            lap.accept("chunk embedded");
            ExtractFaults.fault("in-merge");
            if (output.mode() == WriteMode.APPEND) {
                table.append(rows);
            } else {
                table.merge(rows, others);
            }
            lap.accept("chunk written");
            progress.chunkDone(embedder.getLastMetrics(), reusedBefore + reused);
            if (others != null) {
                table.unsetProperty(TableSettings.REEMBED_MARKER);
            }
        } finally {
            kept.unpersist(false);
            if (reuse != null) {
                reuse.reused().unpersist();
            }
        }
        ExtractFaults.pauseForCrashTests();
        ExtractFaults.fault("between-chunks");
        if (o.quarantine() != null) {
            Dataset<Row> bad = table.read()
                    .where(col("error").isNotNull().and(col("path").isin(chunk.toArray())))
                    .select("path", "content_sha256", "error", "processed_at");
            EmbeddingTable.of(spark, o.quarantine()).write(bad, SaveMode.Append, List.of());
        }
        return reused;
    }

    /** The embedder's output as table rows. */
    private Dataset<Row> toTableRows(Dataset<Row> embedded) {
        return embedded.select(
                col("path"),
                col("content_sha256"),
                col("byte_size"),
                col("modification_time"),
                col("image_info.width").as("width"),
                col("image_info.height").as("height"),
                lit(o.model()).as("model"),
                lit(settings.sha()).as("checkpoint_sha256"),
                when(
                                col("image_info").isNotNull(),
                                concat_ws(
                                        "x",
                                        col("image_info.inputHeight").cast("string"),
                                        col("image_info.inputWidth").cast("string")))
                        .as("resolution"),
                lit(o.embedding().dtype()).as("dtype"),
                col("summary"),
                col("features"),
                coalesce(col("read_error"), col("error")).as("error"),
                current_timestamp().as("processed_at"),
                lit(settings.runRow()).as("settings"));
    }
}
