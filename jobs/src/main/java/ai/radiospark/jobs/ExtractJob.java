package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.current_timestamp;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import ai.radiospark.RadioException;
import ai.radiospark.ml.EmbedderMetrics;
import ai.radiospark.runtime.EmbeddingSettings;
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
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;
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

  /** The job's options; see {@link ExtractCommand} for what each means. {@code embedding} has the model. */
  record Options(String input, String output, EmbeddingSettings embedding, List<String> partitionBy, WriteMode mode,
      long limit, boolean dryRun, boolean reembed, List<String> extensions, String pathColumn, String contentColumn,
      int commitEvery, double maxFailedFraction, String quarantine, int progressSeconds, boolean retryErrors) {
    String model() {
      return embedding.model();
    }
  }

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
      "height", "model", "checkpoint_sha256", "resolution", "dtype", "summary", "features", "error", "processed_at",
      "settings");

  Summary run() {
    long start = System.nanoTime();
    lapStart = start;
    RadioEmbedder embedder = new RadioEmbedder().setInputCol("content").setSettings(o.embedding())
        .setImageInfoCol("image_info").setSummaryCol("summary").setFeaturesCol("features").setErrorCol("error");
    // Loading the checkpoint (SHA-256, sharing or broadcasting the weights) and listing the input
    // (with the session's first Spark SQL, which resolves it) are independent and each mostly one
    // thread's work: they run side by side.
    FutureTask<String> checkpoint = new FutureTask<>(() -> {
      fault("model-load");
      return embedder.modelInfo(spark).checkpointSha256();
    });
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
    if (o.mode() == WriteMode.OVERWRITE && table.exists()) {
      return overwrite(table, embedder, sha, listing, folder, start);
    }
    // Overwriting a table that does not exist yet has nothing to keep: it is a merge into a new table.
    WriteMode mode = o.mode() == WriteMode.OVERWRITE ? WriteMode.MERGE : o.mode();
    return into(table, mode, o.partitionBy(), embedder, sha, listing, folder, start);
  }

  /**
   * An overwrite of an existing table: the images are embedded, resumably, into a staging table
   * under the table's location ({@value EmbeddingTable#STAGING}: Delta and VACUUM ignore folders
   * starting with {@code _}); when that is complete, the table is replaced by it in one commit,
   * and the staging folder is deleted. A kill leaves the old table intact, or the new one complete.
   */
  private Summary overwrite(EmbeddingTable table, RadioEmbedder embedder, String sha, ImageListing listing,
      List<Row> folder, long start) {
    String stagingPath = table.location().replaceAll("/+$", "") + "/" + EmbeddingTable.STAGING;
    EmbeddingTable staging = EmbeddingTable.of(spark, stagingPath);
    if (staging.exists() && !differences(targetSettings(staging.properties()), settings(sha)).isEmpty()) {
      // Staged by an overwrite with other settings: this tool's own folder, started afresh.
      deleteFolder(staging.name());
    }
    Summary staged = into(staging, WriteMode.MERGE, List.of(), embedder, sha, listing, folder, start);
    if (staged.dryRun()) {
      return staged;
    }
    fault("before-replace");
    Dataset<Row> listedPaths = (folder != null ? listing.asDataset(folder) : listing.files()).select("path");
    Dataset<Row> rows = staging.read().join(listedPaths, "path", "left_semi")
        .select(COLUMNS.stream().map(c -> col(c)).toArray(Column[]::new));
    spark.conf().set("spark.databricks.delta.commitInfo.userMetadata", commitInfo(sha, (int) staged.listed()));
    try {
      table.replaceWith(rows, o.partitionBy(), tableProperties(sha));
    } finally {
      spark.conf().unset("spark.databricks.delta.commitInfo.userMetadata");
    }
    long version = table.version();
    deleteFolder(staging.name());
    return new Summary(staged.listed(), staged.unchanged(), staged.reused(), staged.embedded(), staged.failed(),
        seconds(start), version, false);
  }

  private void deleteFolder(String path) {
    try {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
      p.getFileSystem(spark.sparkContext().hadoopConfiguration()).delete(p, true);
    } catch (java.io.IOException e) {
      throw new RadioException("Cannot delete the staging folder " + path + ": " + e.getMessage()
          + ". Delete it by hand; the table itself is complete.", e);
    }
  }

  /** The table property set while a --reembed is not finished; a merge run with its settings finishes it. */
  static final String REEMBED_MARKER = "radio.reembed_in_progress";

  /** Embeds what {@code mode} calls for into {@code table}, a chunk per commit. */
  private Summary into(EmbeddingTable table, WriteMode mode, List<String> partitionBy, RadioEmbedder embedder,
      String sha, ImageListing listing, List<Row> folder, long start) {
    Map<String, String> run = settings(sha);
    String runRow = rowSettings(run);
    boolean exists = table.exists();
    lap("table exists " + exists);
    Map<String, String> target = null;
    boolean finishing = false; // a re-embedding: rows of other settings go when every image is done
    if (exists) {
      Map<String, String> props = table.properties();
      target = targetSettings(props);
      if (!differences(target, run).isEmpty() && table.read().isEmpty()) {
        // No row to mix with (say a first run whose tasks all failed): the table takes this run's settings.
        if (!o.dryRun()) {
          table.setProperties(tableProperties(sha));
        }
        target = run;
      }
      boolean reembedding = guard(table, target, run, mode);
      finishing = mode == WriteMode.MERGE && (reembedding || "true".equals(props.get(REEMBED_MARKER)));
      if (!o.dryRun()) {
        if (!table.hasColumn("settings")) {
          // A table written before rows recorded their settings: its rows are the properties' settings.
          table.addStringColumn("settings");
        }
        if (reembedding) {
          // The rows keep saying how they were made; then the table's target becomes this run's settings.
          table.fillNulls("settings", rowSettings(target));
          Map<String, String> props2 = tableProperties(sha);
          props2.put(REEMBED_MARKER, "true");
          table.setProperties(props2);
          target = run;
        }
      }
    } else if (!o.dryRun()) {
      table.prepareForNewTable(out);
    }
    // Made as this run would make them: this checkpoint, these settings (a null: the table's).
    Column made = exists ? made(table, "", sha, runRow, rowSettings(target)) : lit(false);
    // The candidates' metadata (no bytes), sorted by path: the chunks are made of these rows.
    List<Row> todo;
    long listed;
    if (mode == WriteMode.MERGE && exists) {
      // Unchanged: same path, size and modification time, made as this run would make them, and its
      // bytes were read (a read error is retried on every run; a refused image with --retry-errors).
      Column keep = made.and(col("content_sha256").isNotNull());
      if (o.retryErrors()) {
        keep = keep.and(col("error").isNull());
      }
      Dataset<Row> done = table.read().where(keep)
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
    boolean cut = o.limit() > 0 && todo.size() > o.limit();
    if (cut) {
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
    // Rows of other settings are deleted only by a run that embedded every candidate, and only those
    // of paths no longer listed: every listed one was replaced by then.
    boolean deleteOthers = finishing && !cut;
    Column others = deleteOthers ? not(made(table, "t.", sha, runRow, runRow)) : null;
    if (deleteOthers && paths.isEmpty()) {
      table.delete(not(made(table, "", sha, runRow, runRow)));
      table.unsetProperty(REEMBED_MARKER);
    }

    // Each chunk's rows are persisted before its MERGE, which then reads them twice without
    // re-embedding (a retried MERGE too): Delta need not materialize the source again.
    spark.conf().set("spark.databricks.delta.merge.materializeSource", "none");
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
    try {
      for (int from = 0; from < paths.size(); from += o.commitEvery()) {
        int to = Math.min(paths.size(), from + o.commitEvery());
        List<Row> chunkRows = todo.subList(from, to);
        List<String> chunk = paths.subList(from, to);
        spark.conf().set("spark.databricks.delta.commitInfo.userMetadata", commitInfo(sha, chunk.size()));
        progress.chunkStarted();
        int partitions = ImageListing.partitions(chunkRows.size(), o.embedding().batchSize(), spark.sparkContext().defaultParallelism());
        Dataset<Row> source = injectTaskFailure(listing.withContent(chunkRows, partitions))
            .withColumn("content_sha256", sha2(col("content"), 256));
        Dataset<Row> reuse = null;
        if (mode == WriteMode.MERGE && exists) {
          Dataset<Row> donors = table.read().where(made(table, "", sha, runRow, runRow).and(col("error").isNull()))
              .dropDuplicates("content_sha256").select(tableColumnsPrefixed("d_"));
          Column[] sourceColumns = Arrays.stream(source.columns()).map(c -> col(c)).toArray(Column[]::new);
          Dataset<Row> joined = source.join(donors, col("content_sha256").equalTo(col("d_content_sha256")), "left");
          reuse = reused(joined.where(col("d_content_sha256").isNotNull()), runRow).cache();
          // Counted (and cached) before the write: afterwards the table itself would be a donor.
          reused += reuse.count();
          source = joined.where(col("d_content_sha256").isNull()).select(sourceColumns);
        }
        Dataset<Row> embedded = toTableRows(embedder.transform(source), sha, runRow);
        Dataset<Row> planned = reuse == null ? embedded : embedded.unionByName(reuse);
        // The chunk's rows, embedded once and kept (spilled to disk if need be): the MERGE reads its
        // source twice, and a retried MERGE again, from these. A Dataset over the persisted RDD, as
        // Spark's plan cache does not reliably match the MERGE's rewritten source.
        JavaRDD<Row> kept = planned.javaRDD().persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> rows = spark.createDataFrame(kept, planned.schema());
        if (first) {
          fault("before-first-commit");
        }
        if (!exists) {
          table.createEmpty(rows.schema(), partitionBy, tableProperties(sha));
          exists = true;
          // Another run may have created it first, with its own settings.
          guard(table, targetSettings(table.properties()), run, mode);
          fault("after-create");
        }
        try {
          kept.count(); // embeds the chunk
          lap("chunk embedded");
          fault("in-merge");
          boolean last = to == paths.size();
          if (mode == WriteMode.APPEND) {
            table.append(rows);
          } else {
            table.merge(rows, last && deleteOthers ? others : null);
          }
          lap("chunk written");
          progress.chunkDone(embedder.getLastMetrics(), reused);
          if (last && deleteOthers) {
            table.unsetProperty(REEMBED_MARKER);
          }
        } finally {
          kept.unpersist(false);
          if (reuse != null) {
            reuse.unpersist();
          }
        }
        pauseForCrashTests();
        fault("between-chunks");
        if (o.quarantine() != null) {
          Dataset<Row> bad = table.read().where(col("error").isNotNull().and(col("path").isin(chunk.toArray())))
              .select("path", "content_sha256", "error", "processed_at");
          EmbeddingTable.of(spark, o.quarantine()).write(bad, SaveMode.Append, List.of());
        }
        first = false;
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

  /**
   * Whether a row (columns prefixed {@code prefix}) was made with checkpoint {@code sha} and row
   * settings {@code runRow}; a row without settings (written before rows recorded them) has
   * {@code nullMeans}, the table's settings.
   */
  private static Column made(EmbeddingTable table, String prefix, String sha, String runRow, String nullMeans) {
    Column settings = table.hasColumn("settings") ? coalesce(col(prefix + "settings"), lit(nullMeans)) : lit(nullMeans);
    return coalesce(col(prefix + "checkpoint_sha256").equalTo(lit(sha)).and(settings.equalTo(lit(runRow))), lit(false));
  }

  /**
   * Checks this run's settings against the table's target settings. Returns whether they differ
   * (allowed only by --reembed in merge mode); else throws, naming each differing setting.
   */
  private boolean guard(EmbeddingTable table, Map<String, String> target, Map<String, String> run, WriteMode mode) {
    List<String> diffs = differences(target, run);
    if (diffs.isEmpty()) {
      return false;
    }
    if (mode == WriteMode.MERGE && o.reembed()) {
      return true;
    }
    String fix = mode == WriteMode.APPEND
        ? "--mode append never changes a table's settings: use --mode merge --reembed to re-embed every image with "
            + "this run's, or write to another --output."
        : "pass --reembed to re-embed every image with the new model and settings (a killed --reembed resumes with "
            + "the same command), or write to another --output.";
    throw new RadioException("The table " + table.name() + " holds embeddings made with other settings than this "
        + "run's: " + String.join("; ", diffs) + ". Embeddings made differently must not be mixed: " + fix);
  }

  /** The settings that differ, each as "--option run value (the table: value)", named by their options. */
  static List<String> differences(Map<String, String> target, Map<String, String> run) {
    List<String> diffs = new ArrayList<>();
    for (Map.Entry<String, String> e : run.entrySet()) {
      String k = e.getKey();
      String t = target.get(k);
      if (k.equals("checkpoint_sha256")) {
        continue; // named with --model
      }
      if (k.equals("model")) {
        String tSha = target.get("checkpoint_sha256");
        if (!run.get("checkpoint_sha256").equals(tSha)) {
          diffs.add("--model " + e.getValue() + " is checkpoint " + shortSha(run.get("checkpoint_sha256"))
              + " (the table: " + (t == null ? "not recorded" : t) + ", checkpoint " + shortSha(tSha) + ")");
        }
      } else if (!e.getValue().equals(t)) {
        diffs.add(EmbeddingSettings.Setting.byTableKey(k).option() + " " + e.getValue() + " (the table: "
            + (t == null ? "not recorded" : t) + ")");
      }
    }
    return diffs;
  }

  private static String shortSha(String sha) {
    return sha == null ? "not recorded" : sha.substring(0, Math.min(12, sha.length()));
  }

  /** The settings a table's properties name (radio.* without the prefix). */
  static Map<String, String> targetSettings(Map<String, String> properties) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String k : SETTINGS) {
      String v = properties.get("radio." + k);
      if (v != null) {
        m.put(k, v);
      }
    }
    return m;
  }

  /** The settings' keys, in order. */
  static final List<String> SETTINGS = EmbeddingSettings.recordedKeys();

  /** How this run's embeddings are made, in order; the table properties, commit metadata and rows name these. */
  private Map<String, String> settings(String sha) {
    return o.embedding().recorded(sha);
  }

  /**
   * A row's {@code settings} column: the settings besides the model (the row's {@code model} and
   * {@code checkpoint_sha256}), as {@code size=224x224;resize_mode=fixed;dtype=float32;...}.
   */
  static String rowSettings(Map<String, String> settings) {
    return EmbeddingSettings.rowSettings(settings);
  }

  /** The table properties that say how its embeddings were made: the settings as radio.*. */
  private Map<String, String> tableProperties(String sha) {
    return o.embedding().tableProperties(sha);
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

  /** The fault-injection suite's task failure: every task of the chunk throws. Unset, the source as is. */
  private static Dataset<Row> injectTaskFailure(Dataset<Row> source) {
    if (!"task-failure".equals(System.getProperty(FAULT_POINT))) {
      return source;
    }
    UserDefinedFunction fail = udf((UDF1<String, Boolean>) p -> {
      throw new IllegalStateException("radio fault injection: task failure at " + p);
    }, DataTypes.BooleanType).asNondeterministic();
    return source.where(fail.apply(col("path")));
  }

  /** The system property naming the fault-injection suite's fault point. */
  static final String FAULT_POINT = "radio.extract.faultPoint";

  /**
   * The fault-injection suite: with {@code -Dradio.extract.faultPoint=NAME}, reaching point NAME
   * prints {@code radio-fault: NAME} and holds the job there (to be killed), or throws for
   * {@code model-load}. Points: {@code model-load}, {@code before-first-commit}, {@code after-create}
   * (a new table's empty first commit made), {@code in-merge} (a chunk embedded, its MERGE not
   * started), {@code between-chunks}, {@code before-replace} (an overwrite staged, the table not
   * replaced); {@code task-failure} makes every task of a chunk throw. Unset, this does nothing.
   */
  static void fault(String point) {
    if (!point.equals(System.getProperty(FAULT_POINT))) {
      return;
    }
    System.out.println("radio-fault: " + point);
    System.out.flush();
    if (point.equals("model-load")) {
      throw new RadioException("Injected fault: the checkpoint failed to load.");
    }
    try {
      Thread.sleep(Long.MAX_VALUE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The embedder's output as table rows. */
  private Dataset<Row> toTableRows(Dataset<Row> embedded, String sha, String runRow) {
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
        lit(o.embedding().dtype()).as("dtype"),
        col("summary"),
        col("features"),
        coalesce(col("read_error"), col("error")).as("error"),
        current_timestamp().as("processed_at"),
        lit(runRow).as("settings"));
  }

  private static Column[] tableColumnsPrefixed(String prefix) {
    return COLUMNS.stream().map(c -> col(c).as(prefix + c)).toArray(Column[]::new);
  }

  /** Rows for images whose content the table already embedded with this checkpoint. */
  private static Dataset<Row> reused(Dataset<Row> joined, String runRow) {
    List<Column> cols = new ArrayList<>();
    for (String c : COLUMNS) {
      switch (c) {
        case "path", "content_sha256", "byte_size", "modification_time" -> cols.add(col(c));
        case "processed_at" -> cols.add(current_timestamp().as(c));
        case "settings" -> cols.add(lit(runRow).as(c));
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
