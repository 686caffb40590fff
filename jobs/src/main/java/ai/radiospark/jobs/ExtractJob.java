package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.not;

import ai.radiospark.RadioException;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.ModelSource;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The extraction job: lists images (a folder or glob, or a table of paths or bytes), finds what is
 * new or changed since the last run, embeds it with {@link RadioEmbedder}, and writes one row per
 * image into a Delta table, committing every {@code commitEvery} images so that a killed run loses
 * at most one chunk and a rerun finishes the rest, each image present exactly once.
 */
final class ExtractJob {
    private static final Logger LOG = LoggerFactory.getLogger(ExtractJob.class);

    /** The Delta table property that turns on the Change Data Feed. */
    static final String CHANGE_DATA_FEED = "delta.enableChangeDataFeed";

    /** How the output table is written. */
    enum WriteMode {
        /** Incremental: new and changed images only, keyed by path. The default. */
        MERGE,
        APPEND,
        OVERWRITE;

        static WriteMode parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new RadioException("Unknown --mode \"" + s
                        + "\". Use merge (incremental, the default), append or " + "overwrite.");
            }
        }
    }

    /** What a run did. */
    record Summary(
            long listed,
            long unchanged,
            long reused,
            long embedded,
            long failed,
            double seconds,
            Long tableVersion,
            boolean dryRun) {
        double failedFraction() {
            long done = embedded + failed;
            return done == 0 ? 0 : (double) failed / done;
        }
    }

    private final SparkSession spark;
    /** The options; run() replaces them with dtype auto resolved, before anything is recorded. */
    private ExtractOptions o;

    private final PrintStream out;

    ExtractJob(SparkSession spark, ExtractOptions options, PrintStream out) {
        this.spark = spark;
        this.o = options;
        this.out = out;
    }

    /** The table's columns, in order. */
    static final List<String> COLUMNS = List.of(
            "path",
            "content_sha256",
            "byte_size",
            "modification_time",
            "width",
            "height",
            "model",
            "checkpoint_sha256",
            "resolution",
            "dtype",
            "summary",
            "features",
            "error",
            "processed_at",
            "settings");

    /** The output: a table, how it is written and its partitioning. */
    record Output(EmbeddingTable table, WriteMode mode, List<String> partitionBy) {}

    // Set by run(): the embedder, this run's settings (with the checkpoint), the listing and its start.
    private RadioEmbedder embedder;
    private TableSettings settings;
    private ImageListing listing;
    /** The listed images of a folder input, else null (a table input, read by Spark). */
    private List<Row> folder;

    /** The embedding settings with dtype auto resolved (or standing for the table's: dtypeTentative), by loadCheckpointAndList. */
    private volatile EmbeddingSettings resolved;

    /** The embedding settings as given: dtype maybe auto. */
    private EmbeddingSettings requested;

    /**
     * Whether dtype auto stands, until decided, for the existing table's dtype: deciding it would
     * count the GPUs PyTorch sees, loading its engine, which waits until the run has something to
     * embed, or settings that differ from the table's (see {@link #decideDtype}).
     */
    private volatile boolean dtypeTentative;

    /** The model's checkpoint, opened by loadCheckpointAndList: its weights are read from it, if needed. */
    private volatile Checkpoint checkpoint;

    private long start;
    private long lapStart = System.nanoTime();

    Summary run() {
        start = System.nanoTime();
        lapStart = start;
        embedder = new RadioEmbedder()
                .setInputCol("content")
                .setSettings(o.embedding())
                .setImageInfoCol("image_info")
                .setSummaryCol("summary")
                .setFeaturesCol("features")
                .setErrorCol("error");
        requested = o.embedding();
        String sha = loadCheckpointAndList();
        // dtype auto, decided on the driver (beside the listing) before the run records its settings anywhere; into
        // an existing table, it stands for the table's dtype until the run has something to embed (decideDtype)
        useSettings(resolved, sha);
        lap("checkpoint loaded and input listed");
        EmbeddingTable table = EmbeddingTable.of(spark, o.output());
        if (o.mode() == WriteMode.OVERWRITE && table.exists()) {
            return overwrite(table);
        }
        // Overwriting a table that does not exist yet has nothing to keep: it is a merge into a new table.
        WriteMode mode = o.mode() == WriteMode.OVERWRITE ? WriteMode.MERGE : o.mode();
        return into(new Output(table, mode, o.partitionBy()));
    }

    /**
     * Opens the checkpoint and lists the input; returns the checkpoint's SHA-256. Opening the
     * checkpoint (resolving it, reading its configuration and tensor headers, its SHA-256 from the
     * cache or by hashing) and listing the input (with the session's first Spark SQL, which resolves
     * it) are independent and each mostly one thread's work: they run side by side.
     */
    private String loadCheckpointAndList() {
        FutureTask<String> loading = new FutureTask<>(() -> {
            ExtractFaults.fault("model-load");
            // The checkpoint's identity only: its weights are read (from this opened checkpoint) when a
            // chunk is embedded, so a rerun over an unchanged table never reads them (the SHA-256 comes
            // from its cache).
            Checkpoint opened = ModelSource.checkpoint(embedder.getModel());
            this.checkpoint = opened;
            String sha = opened.sha256();
            String tableDtype = RadioEmbedder.resolvingDtypeCountsGpus(spark, requested) ? autoTableDtype() : null;
            dtypeTentative = tableDtype != null;
            // else in local mode auto counts the GPUs PyTorch sees, loading the engine: beside the listing too
            resolved = dtypeTentative
                    ? requested.with(EmbeddingSettings.Setting.DTYPE, tableDtype)
                    : RadioEmbedder.resolveDtype(spark, requested);
            return sha;
        });
        Thread loader = new Thread(loading, "radio-extract-checkpoint");
        loader.setDaemon(true);
        loader.start();
        try {
            listing = ImageListing.of(spark, o.input(), o.extensions(), o.pathColumn(), o.contentColumn());
            if (listing.isFolder()) {
                folder = listing.listFolder(); // a folder or glob is listed on the driver, without a Spark job
            }
        } catch (RuntimeException e) {
            checkpointSha(loading); // a bad checkpoint is reported first, as when run one after the other
            throw e;
        }
        return checkpointSha(loading);
    }

    /**
     * The dtype of the existing table a merge or append run writes into, if auto can resolve to it
     * (float32 or bfloat16); else null.
     */
    private String autoTableDtype() {
        try {
            EmbeddingTable table = EmbeddingTable.of(spark, o.output());
            if (o.mode() == WriteMode.OVERWRITE || !table.exists()) {
                return null;
            }
            String dtype = table.properties().get("radio.dtype");
            return ModelDType.FLOAT32.label().equals(dtype)
                            || DevicePlan.GPU_DTYPE.label().equals(dtype)
                    ? dtype
                    : null;
        } catch (RuntimeException e) {
            return null; // the run reports it
        }
    }

    /** This run's embedding settings: the options', the embedder's dtype and the settings recorded. */
    private void useSettings(EmbeddingSettings embedding, String sha) {
        o = o.withEmbedding(embedding);
        embedder.setDtype(embedding.dtype());
        settings = new TableSettings(embedding, sha);
    }

    /**
     * Decides a tentative dtype auto (counting the GPUs PyTorch sees); returns whether it differs
     * from the table's, which it stood for: then the run takes the decided one.
     */
    private boolean decideDtype() {
        dtypeTentative = false;
        EmbeddingSettings decided = RadioEmbedder.resolveDtype(spark, requested);
        lap("dtype auto decided");
        if (decided.dtype().equals(o.embedding().dtype())) {
            return false;
        }
        useSettings(decided, settings.sha());
        return true;
    }

    private static String checkpointSha(FutureTask<String> loading) {
        try {
            return loading.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RadioException("Interrupted while loading the checkpoint.", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new RadioException("Loading the checkpoint failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * An overwrite of an existing table: the images are embedded, resumably, into a staging table
     * under the table's location ({@value EmbeddingTable#STAGING}: Delta and VACUUM ignore folders
     * starting with {@code _}); when that is complete, the table is replaced by it in one commit,
     * and the staging folder is deleted. A kill leaves the old table intact, or the new one complete.
     */
    private Summary overwrite(EmbeddingTable table) {
        String stagingPath = table.location().replaceAll("/+$", "") + "/" + EmbeddingTable.STAGING;
        EmbeddingTable staging = EmbeddingTable.of(spark, stagingPath);
        if (staging.exists()
                && !TableSettings.differences(TableSettings.targetSettings(staging.properties()), settings.run())
                        .isEmpty()) {
            // Staged by an overwrite with other settings: this tool's own folder, started afresh.
            deleteFolder(staging.name());
        }
        Summary staged = into(new Output(staging, WriteMode.MERGE, List.of()));
        if (staged.dryRun()) {
            return staged;
        }
        ExtractFaults.fault("before-replace");
        Dataset<Row> listedPaths = (folder != null ? listing.asDataset(folder) : listing.files()).select("path");
        Dataset<Row> rows = staging.read()
                .join(listedPaths, "path", "left_semi")
                .select(COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
        spark.conf().set(COMMIT_METADATA, settings.commitInfo((int) staged.listed()));
        try {
            table.replaceWith(rows, o.partitionBy(), o.newTableProperties(settings));
        } finally {
            spark.conf().unset(COMMIT_METADATA);
        }
        long version = table.version();
        deleteFolder(staging.name());
        return new Summary(
                staged.listed(),
                staged.unchanged(),
                staged.reused(),
                staged.embedded(),
                staged.failed(),
                seconds(start),
                version,
                false);
    }

    private void deleteFolder(String path) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
            p.getFileSystem(spark.sparkContext().hadoopConfiguration()).delete(p, true);
        } catch (java.io.IOException e) {
            throw new RadioException(
                    "Cannot delete the staging folder " + path + ": " + e.getMessage()
                            + ". Delete it by hand; the table itself is complete.",
                    e);
        }
    }

    /** The session conf Delta records as each commit's user metadata. */
    static final String COMMIT_METADATA = "spark.databricks.delta.commitInfo.userMetadata";

    /** Embeds what the output's mode calls for into its table, a chunk per commit. */
    private Summary into(Output output) {
        EmbeddingTable table = output.table();
        boolean exists = table.exists();
        lap("table exists " + exists);
        if (dtypeTentative
                && (!exists
                        || !TableSettings.differences(TableSettings.targetSettings(table.properties()), settings.run())
                                .isEmpty())) {
            // Other settings differ from the table's: refused, or the table takes them, with the decided dtype.
            decideDtype();
        }
        TableSettings.Target target = TableSettings.Target.NONE;
        if (exists) {
            target = settings.settle(table, output.mode(), o.reembed(), o.dryRun());
        } else if (!o.dryRun()) {
            table.prepareForNewTable(out);
        }
        Candidates candidates = Candidates.select(
                table,
                exists,
                output.mode(),
                settings,
                exists ? TableSettings.rowSettings(target.settings()) : null,
                o.retryErrors(),
                o.limit(),
                listing,
                folder);
        lap("candidates collected");
        if (o.dryRun()) {
            return dryRun(table, exists, candidates);
        }
        if (dtypeTentative && !candidates.paths().isEmpty() && decideDtype()) {
            // Something to embed, and auto is not the table's dtype: settled and selected again with the decided one.
            return into(output);
        }
        if (!candidates.paths().isEmpty()) {
            // The weights are read (and checked, and broadcast) only now that there is something to
            // embed, and before anything is written.
            embedder.modelInfo(spark, checkpoint);
            lap("weights loaded");
        }
        // Rows of other settings are deleted only by a run that embedded every candidate, and only those
        // of paths no longer listed: every listed one was replaced by then.
        boolean deleteOthers = target.finishing() && !candidates.cut();
        Column others = deleteOthers ? not(settings.madeByRun(table, "t.")) : null;
        if (deleteOthers && candidates.paths().isEmpty()) {
            table.delete(not(settings.madeByRun(table, "")));
            table.unsetProperty(TableSettings.REEMBED_MARKER);
        }
        return new ChunkWriter(spark, o, embedder, settings, listing, out, this::lap)
                .write(output, exists, candidates, others, start);
    }

    private Summary dryRun(EmbeddingTable table, boolean exists, Candidates c) {
        List<String> paths = c.paths();
        out.printf(
                "Dry run: %,d images listed under %s; %,d would be embedded into %s (%s mode), %,d are unchanged.%n",
                c.listed(),
                o.input(),
                paths.size(),
                o.output(),
                o.mode().name().toLowerCase(Locale.ROOT),
                c.unchanged());
        paths.stream().limit(10).forEach(p -> out.println("  " + p));
        if (paths.size() > 10) {
            out.printf("  ... and %,d more%n", paths.size() - 10);
        }
        return new Summary(c.listed(), c.unchanged(), 0, 0, 0, seconds(start), exists ? table.version() : null, true);
    }

    private void lap(String what) {
        long now = System.nanoTime();
        LOG.debug("extract: {} in {} ms", what, (now - lapStart) / 1_000_000);
        lapStart = now;
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
