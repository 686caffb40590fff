package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.when;

import ai.radiospark.RadioException;
import ai.radiospark.ml.EmbedderMetrics;
import ai.radiospark.ml.RadioEmbedder;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
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
  private static final ObjectMapper JSON = new ObjectMapper();

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
        throw new RadioException("Unknown --mode \"" + s + "\". Use merge (incremental, the default), append or "
            + "overwrite.");
      }
    }
  }

  /** The job's options; see {@link ExtractCommand} for what each means. */
  record Options(String input, String output, String model, String size, String resizeMode, int batchSize,
      String device, String dtype, String features, String featuresType, List<String> partitionBy, WriteMode mode,
      long limit, boolean dryRun, boolean reembed, List<String> extensions, String pathColumn, String contentColumn,
      int commitEvery, double maxFailedFraction, String quarantine, int progressSeconds) {}

  /** What a run did. */
  record Summary(long listed, long unchanged, long reused, long embedded, long failed, double seconds,
      Long tableVersion, boolean dryRun) {
    double failedFraction() {
      long done = embedded + failed;
      return done == 0 ? 0 : (double) failed / done;
    }
  }

  private final SparkSession spark;
  private final Options o;
  private final PrintStream out;

  ExtractJob(SparkSession spark, Options options, PrintStream out) {
    this.spark = spark;
    this.o = options;
    this.out = out;
  }

  /** The table's columns, in order. */
  static final List<String> COLUMNS = List.of("path", "content_sha256", "byte_size", "modification_time", "width",
      "height", "model", "checkpoint_sha256", "resolution", "dtype", "summary", "features", "error", "processed_at");

  Summary run() {
    long start = System.nanoTime();
    lapStart = start;
    RadioEmbedder embedder = new RadioEmbedder().setInputCol("content").setModel(o.model()).setImageSize(o.size())
        .setResizeMode(o.resizeMode()).setBatchSize(o.batchSize()).setDevice(o.device()).setDtype(o.dtype())
        .setFeaturesMode(o.features()).setFeaturesType(o.featuresType()).setImageInfoCol("image_info")
        .setSummaryCol("summary").setFeaturesCol("features").setErrorCol("error");
    // Loading the checkpoint (SHA-256, sharing or broadcasting the weights) and listing the input
    // (with the session's first Spark SQL, which resolves it) are independent and each mostly one
    // thread's work: they run side by side.
    FutureTask<String> checkpoint = new FutureTask<>(() -> embedder.modelInfo(spark).checkpointSha256());
    Thread loader = new Thread(checkpoint, "radio-extract-checkpoint");
    loader.setDaemon(true);
    loader.start();
    ImageListing listing;
    List<Row> folder = null; // a folder or glob is listed on the driver, without a Spark job
    try {
      listing = ImageListing.of(spark, o.input(), o.extensions(), o.pathColumn(), o.contentColumn());
      if (listing.isFolder()) {
        folder = listing.listFolder();
      }
    } catch (RuntimeException e) {
      checkpointSha(checkpoint); // a bad checkpoint is reported first, as when run one after the other
      throw e;
    }
    String sha = checkpointSha(checkpoint);
    lap("checkpoint loaded and input listed");
    return run(embedder, sha, listing, folder, start);
  }

  private static String checkpointSha(FutureTask<String> checkpoint) {
    try {
      return checkpoint.get();
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

  /** {@code folder}: the listed images of a folder input, else null (a table input, read by Spark). */
  private Summary run(RadioEmbedder embedder, String sha, ImageListing listing, List<Row> folder, long start) {
    EmbeddingTable table = EmbeddingTable.of(spark, o.output());
    boolean exists = table.exists();
    lap("table exists " + exists);
    if (o.mode() == WriteMode.MERGE && exists) {
      String tableSha = table.checkpointOfExistingRows();
      if (tableSha != null && !tableSha.equals(sha) && !o.reembed()) {
        throw new RadioException("The table " + o.output() + " holds embeddings of checkpoint " + tableSha
            + ", but --model " + o.model() + " is checkpoint " + sha + ". Embeddings of different models must not be "
            + "mixed: pass --reembed to re-embed every image with the new model, or write to another --output.");
      }
    }
    // The candidates' metadata (no bytes), sorted by path: the chunks are made of these rows.
    List<Row> todo;
    long listed;
    if (o.mode() == WriteMode.MERGE && exists && !o.reembed()) {
      // Unchanged: same path, size and modification time, embedded by this checkpoint.
      Dataset<Row> done = table.read().where(col("checkpoint_sha256").equalTo(lit(sha)))
          .select(col("path").as("t_path"), col("byte_size").as("t_size"), col("modification_time").as("t_mtime"));
      Column same = col("path").equalTo(col("t_path")).and(col("byte_size").equalTo(col("t_size")))
          .and(col("modification_time").equalTo(col("t_mtime")));
      // A table's listing is read twice, by the anti-join and by the count: cached for the two.
      Dataset<Row> files = folder != null ? listing.asDataset(folder) : listing.files().cache();
      todo = new ArrayList<>(files.join(done, same, "left_anti").select("path", "byte_size", "modification_time")
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
    lap("candidates collected");
    if (o.limit() > 0 && todo.size() > o.limit()) {
      todo = todo.subList(0, (int) o.limit());
    }
    List<String> paths = todo.stream().map(r -> r.getString(0)).toList();
    if (o.dryRun()) {
      out.printf("Dry run: %,d images listed under %s; %,d would be embedded into %s (%s mode), %,d are unchanged.%n",
          listed, o.input(), paths.size(), o.output(), o.mode().name().toLowerCase(Locale.ROOT), unchanged);
      paths.stream().limit(10).forEach(p -> out.println("  " + p));
      if (paths.size() > 10) {
        out.printf("  ... and %,d more%n", paths.size() - 10);
      }
      return new Summary(listed, unchanged, 0, 0, 0, seconds(start), exists ? table.version() : null, true);
    }

    spark.conf().set("spark.databricks.delta.merge.materializeSource", "all");
    ExtractProgress progress = new ExtractProgress(spark.sparkContext(), embedder.uid(), paths.size(), start);
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "radio-extract-progress");
      t.setDaemon(true);
      return t;
    });
    ticker.scheduleAtFixedRate(() -> out.println(progress.line(embedder.getLastMetrics())), o.progressSeconds(),
        o.progressSeconds(), TimeUnit.SECONDS);
    long reused = 0;
    boolean first = true;
    boolean created = false; // by this run, with its properties
    try {
      for (int from = 0; from < paths.size(); from += o.commitEvery()) {
        List<Row> chunkRows = todo.subList(from, Math.min(todo.size(), from + o.commitEvery()));
        List<String> chunk = paths.subList(from, Math.min(paths.size(), from + o.commitEvery()));
        spark.conf().set("spark.databricks.delta.commitInfo.userMetadata", commitInfo(sha, chunk.size()));
        progress.chunkStarted();
        int partitions = ImageListing.partitions(chunkRows.size(), o.batchSize(), spark.sparkContext().defaultParallelism());
        Dataset<Row> source = listing.withContent(chunkRows, partitions)
            .withColumn("content_sha256", sha2(col("content"), 256));
        Dataset<Row> reuse = null;
        if (o.mode() == WriteMode.MERGE && (exists || !first) && !o.reembed()) {
          Dataset<Row> donors = table.read().where(col("checkpoint_sha256").equalTo(lit(sha)).and(col("error").isNull()))
              .dropDuplicates("content_sha256").select(tableColumnsPrefixed("d_"));
          Column[] sourceColumns = Arrays.stream(source.columns()).map(c -> col(c)).toArray(Column[]::new);
          Dataset<Row> joined = source.join(donors, col("content_sha256").equalTo(col("d_content_sha256")), "left");
          reuse = reused(joined.where(col("d_content_sha256").isNotNull())).cache();
          source = joined.where(col("d_content_sha256").isNull()).select(sourceColumns);
        }
        Dataset<Row> embedded = toTableRows(embedder.transform(source), sha);
        Dataset<Row> rows = reuse == null ? embedded : embedded.unionByName(reuse);
        if (reuse != null) {
          // Counted (and cached) before the write: afterwards the table itself would be a donor.
          reused += reuse.count();
        }
        lap("chunk planned");
        created |= write(table, rows, first, exists, sha);
        lap("chunk written");
        if (reuse != null) {
          reuse.unpersist();
        }
        progress.chunkDone(embedder.getLastMetrics(), reused);
        pauseForCrashTests();
        if (o.quarantine() != null) {
          Dataset<Row> bad = table.read().where(col("error").isNotNull().and(col("path").isin(chunk.toArray())))
              .select("path", "content_sha256", "error", "processed_at");
          EmbeddingTable.of(spark, o.quarantine()).write(bad, SaveMode.Append, List.of());
        }
        first = false;
        exists = true;
      }
      if (o.reembed() && exists) {
        table.deleteOtherModels(sha);
      }
      if (exists && !created) {
        Map<String, String> props = tableProperties(sha);
        Map<String, String> current = table.properties();
        if (!props.entrySet().stream().allMatch(e -> e.getValue().equals(current.get(e.getKey())))) {
          table.setProperties(props);
        }
      }
    } finally {
      ticker.shutdownNow();
      progress.close();
      spark.conf().unset("spark.databricks.delta.commitInfo.userMetadata");
    }
    long failed = progress.failed();
    long embeddedCount = progress.processed() - failed;
    Long version = table.exists() ? table.version() : null;
    lap("version read");
    return new Summary(listed, unchanged, reused, embeddedCount, failed, seconds(start), version, false);
  }

  /** How this run's embeddings are made, in order; the table properties and commit metadata name these. */
  private Map<String, String> settings(String sha) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("model", o.model());
    m.put("checkpoint_sha256", sha);
    m.put("resolution", o.size());
    m.put("resize_mode", o.resizeMode());
    m.put("dtype", o.dtype());
    m.put("features", o.features());
    m.put("features_type", o.featuresType());
    return m;
  }

  /** The table properties that say how its embeddings were made: the settings as radio.*. */
  private Map<String, String> tableProperties(String sha) {
    Map<String, String> props = new LinkedHashMap<>();
    settings(sha).forEach((k, v) -> props.put("radio." + k, v));
    return props;
  }

  /** Writes a chunk; returns whether this created the table (with its properties). */
  private boolean write(EmbeddingTable table, Dataset<Row> rows, boolean firstChunk, boolean exists, String sha) {
    if (!exists && o.mode() != WriteMode.OVERWRITE) {
      table.create(rows, o.partitionBy(), tableProperties(sha));
      return true;
    }
    switch (o.mode()) {
      case MERGE -> table.merge(rows);
      case APPEND -> table.write(rows, SaveMode.Append, o.partitionBy());
      case OVERWRITE -> table.write(rows, firstChunk ? SaveMode.Overwrite : SaveMode.Append, o.partitionBy());
    }
    return false;
  }

  private String commitInfo(String sha, int images) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("job", "radio extract");
    // The commit metadata has always called the resolution "size".
    settings(sha).forEach((k, v) -> m.put(k.equals("resolution") ? "size" : k, v));
    m.put("images", images);
    try {
      return JSON.writeValueAsString(m);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The embedder's output as table rows. */
  private Dataset<Row> toTableRows(Dataset<Row> embedded, String sha) {
    return embedded.select(
        col("path"),
        col("content_sha256"),
        col("byte_size"),
        col("modification_time"),
        col("image_info.width").as("width"),
        col("image_info.height").as("height"),
        lit(o.model()).as("model"),
        lit(sha).as("checkpoint_sha256"),
        when(col("image_info").isNotNull(), concat_ws("x", col("image_info.inputHeight").cast("string"),
            col("image_info.inputWidth").cast("string"))).as("resolution"),
        lit(o.dtype()).as("dtype"),
        col("summary"),
        col("features"),
        coalesce(col("read_error"), col("error")).as("error"),
        current_timestamp().as("processed_at"));
  }

  private static Column[] tableColumnsPrefixed(String prefix) {
    return COLUMNS.stream().map(c -> col(c).as(prefix + c)).toArray(Column[]::new);
  }

  /** Rows for images whose content the table already embedded with this checkpoint. */
  private static Dataset<Row> reused(Dataset<Row> joined) {
    List<Column> cols = new ArrayList<>();
    for (String c : COLUMNS) {
      switch (c) {
        case "path", "content_sha256", "byte_size", "modification_time" -> cols.add(col(c));
        case "processed_at" -> cols.add(current_timestamp().as(c));
        default -> cols.add(col("d_" + c).as(c));
      }
    }
    return joined.select(cols.toArray(new Column[0]));
  }

  /**
   * Crash tests kill the driver between two commits; {@code -Dradio.extract.pauseAfterCommitMs}
   * holds it there. Unset, this does nothing.
   */
  private static void pauseForCrashTests() {
    long ms = Long.getLong("radio.extract.pauseAfterCommitMs", 0L);
    if (ms > 0) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private long lapStart = System.nanoTime();

  private void lap(String what) {
    long now = System.nanoTime();
    LOG.debug("extract: {} in {} ms", what, (now - lapStart) / 1_000_000);
    lapStart = now;
  }

  private static double seconds(long start) {
    return (System.nanoTime() - start) / 1e9;
  }
}
