package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import io.delta.tables.DeltaTable;
import io.delta.tables.DeltaTableBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Delta table of embeddings, named by a path or by a metastore table name: one row per image,
 * keyed by {@code path}.
 */
final class EmbeddingTable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddingTable.class);
  /** Set by Delta to the version of the session's last commit. */
  private static final String LAST_COMMIT_VERSION = "spark.databricks.delta.lastCommitVersionInSession";

  private final SparkSession spark;
  private final String name;
  private final boolean isPath;
  /** The version of this table's last commit made through this object, if Delta reported it. */
  private Long committedVersion;

  private EmbeddingTable(SparkSession spark, String name) {
    this.spark = spark;
    this.name = name;
    this.isPath = looksLikePath(name);
  }

  static EmbeddingTable of(SparkSession spark, String output) {
    if (looksLikePath(output)) {
      // Delta's SQL names a path table by its absolute, qualified path.
      try {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
        output = p.getFileSystem(spark.sparkContext().hadoopConfiguration()).makeQualified(p).toString();
      } catch (java.io.IOException e) {
        throw new RadioException("Cannot resolve the table path " + output + ": " + e.getMessage(), e);
      }
    }
    return new EmbeddingTable(spark, output);
  }

  /** Paths have a slash, a scheme or a leading dot; anything else is a metastore table name. */
  static boolean looksLikePath(String s) {
    return s.contains("/") || s.contains(":") || s.startsWith(".");
  }

  String name() {
    return name;
  }

  /**
   * Whether the table exists with at least one commit. A path must hold its own {@code _delta_log}:
   * Delta alone would also accept a folder inside another table (such as the staging folder).
   */
  boolean exists() {
    if (!isPath) {
      return spark.catalog().tableExists(name);
    }
    try {
      Path log = new Path(name, "_delta_log");
      return log.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(log)
          && DeltaTable.isDeltaTable(spark, name);
    } catch (IOException e) {
      throw new RadioException("Cannot inspect the table path " + name + ": " + e.getMessage(), e);
    }
  }

  Dataset<Row> read() {
    return isPath ? spark.read().format("delta").load(name) : spark.table(name);
  }

  private DeltaTable delta() {
    return isPath ? DeltaTable.forPath(spark, name) : DeltaTable.forName(spark, name);
  }

  private String sqlName() {
    return isPath ? "delta.`" + name.replace("`", "``") + "`" : name;
  }

  /**
   * Inserts new paths and replaces the rows of paths already present: one commit. With
   * {@code deleteUnmatched}, table rows not in {@code rows} that match it are deleted in the same
   * commit.
   */
  void merge(Dataset<Row> rows, Column deleteUnmatched) {
    retrying("merge", () -> committing(() -> {
      var m = delta().as("t").merge(rows.as("s"), "t.path = s.path").whenMatched().updateAll()
          .whenNotMatched().insertAll();
      if (deleteUnmatched != null) {
        m = m.whenNotMatchedBySource(deleteUnmatched).delete();
      }
      m.execute();
    }));
  }

  /** Appends the rows: one commit. */
  void append(Dataset<Row> rows) {
    retrying("append", () -> committing(() -> {
      var w = rows.write().format("delta").mode(SaveMode.Append);
      if (isPath) {
        w.save(name);
      } else {
        w.saveAsTable(name);
      }
    }));
  }

  /** Appends rows, creating the table if needed (the quarantine table). */
  void write(Dataset<Row> rows, SaveMode mode, List<String> partitionBy) {
    var w = rows.write().format("delta").mode(mode);
    if (!partitionBy.isEmpty()) {
      w = w.partitionBy(partitionBy.toArray(new String[0]));
    }
    var writer = w;
    retrying("write", () -> committing(() -> {
      if (isPath) {
        writer.save(name);
      } else {
        writer.saveAsTable(name);
      }
    }));
  }

  /**
   * Creates the table empty, with this schema, partitioning and table properties, in one
   * metadata-only commit; does nothing when the table exists (another run may have created it).
   */
  void createEmpty(StructType schema, List<String> partitionBy, Map<String, String> properties) {
    retrying("create", () -> committing(() -> {
      DeltaTableBuilder b = DeltaTable.createIfNotExists(spark);
      b = isPath ? b.location(name) : b.tableName(name);
      b = b.addColumns(nullable(schema));
      for (Map.Entry<String, String> e : properties.entrySet()) {
        b = b.property(e.getKey(), e.getValue());
      }
      if (!partitionBy.isEmpty()) {
        b = b.partitionedBy(partitionBy.toArray(new String[0]));
      }
      b.execute();
    }));
  }

  /**
   * Replaces the table (or creates it) with these rows, properties and partitioning in one
   * commit: readers see the old table until then, and the new one after.
   */
  void replaceWith(Dataset<Row> rows, List<String> partitionBy, Map<String, String> properties) {
    var w = rows.writeTo(sqlName()).using("delta");
    for (Map.Entry<String, String> e : properties.entrySet()) {
      w = w.tableProperty(e.getKey(), e.getValue());
    }
    if (!partitionBy.isEmpty()) {
      Column[] rest = partitionBy.stream().skip(1).map(functions::col).toArray(Column[]::new);
      w = w.partitionedBy(functions.col(partitionBy.get(0)), rest);
    }
    var writer = w;
    retrying("replace", () -> committing(writer::createOrReplace));
  }

  /** Deletes the rows that match: one commit (no commit when none match). */
  void delete(Column condition) {
    if (!read().where(condition).isEmpty()) {
      retrying("delete", () -> committing(() -> delta().delete(condition)));
    }
  }

  /** Sets {@code column} to {@code value} where it is null: one commit (none when no row is null). */
  void fillNulls(String column, String value) {
    Column isNull = functions.col(column).isNull();
    if (!read().where(isNull).isEmpty()) {
      retrying("update", () -> committing(() -> delta().update(isNull, Map.of(column, functions.lit(value)))));
    }
  }

  boolean hasColumn(String column) {
    return Arrays.asList(read().columns()).contains(column);
  }

  /** Adds a nullable string column (a metadata-only commit); existing rows read it as null. */
  void addStringColumn(String column) {
    retrying("alter", () -> committing(() -> spark.sql("ALTER TABLE " + sqlName() + " ADD COLUMNS (" + column
        + " STRING)")));
  }

  /** The table's location: a path table's path, or a metastore table's location. */
  String location() {
    return isPath ? name : delta().detail().select("location").head().getString(0);
  }

  /**
   * Makes sure a path with no Delta table can take a new one. A missing path or an empty folder
   * is fine. What an aborted first Delta write leaves (a {@code _delta_log} with no commit, data
   * files and partition folders) is removed. Anything else is refused, and nothing is deleted.
   */
  void prepareForNewTable(PrintStream out) {
    if (!isPath) {
      return;
    }
    try {
      Path root = new Path(name);
      FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
      if (!fs.exists(root)) {
        return;
      }
      if (!fs.getFileStatus(root).isDirectory()) {
        throw new RadioException("--output " + name + " is a file, not a Delta table or a folder: a table cannot be "
            + "written there. Give another --output, or move the file away.");
      }
      FileStatus[] entries = fs.listStatus(root);
      if (entries.length == 0) {
        return;
      }
      String foreign = foreignEntry(fs, entries, true);
      boolean hasLog = Arrays.stream(entries).anyMatch(e -> e.getPath().getName().equals("_delta_log"));
      if (foreign == null && !hasLog && Arrays.stream(entries)
          .allMatch(e -> e.getPath().getName().equals(STAGING))) {
        hasLog = true; // only a staging folder of this tool
      }
      if (foreign != null || !hasLog) {
        throw new RadioException("--output " + name + " is a folder that is not a Delta table and holds "
            + (foreign != null ? foreign : "files without a _delta_log") + ": radio extract writes only to a Delta "
            + "table, a new path or an empty folder. Give another --output, or empty the folder.");
      }
      // Another run may be creating the table right now (its _delta_log there, its first commit not
      // yet): give it a moment, and leave the folder to it if it became a table.
      try {
        Thread.sleep(LEFTOVER_SETTLE_MS);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new RadioException("Interrupted while inspecting --output " + name + ".", ie);
      }
      if (exists()) {
        return;
      }
      for (FileStatus e : entries) {
        fs.delete(e.getPath(), true);
      }
      out.println("radio extract: removed what an aborted first write left in " + name
          + " (a _delta_log without commits and uncommitted data files); creating the table.");
    } catch (IOException e) {
      throw new RadioException("Cannot inspect --output " + name + ": " + e.getMessage()
          + ". Check the path and its permissions.", e);
    }
  }

  /** How long leftovers of a first write must stay uncommitted before they are removed. */
  private static final long LEFTOVER_SETTLE_MS = 2_000;

  /** The folder under a table's location where an overwrite stages the new table. */
  static final String STAGING = "_radio_staging";

  private static final Pattern COMMIT_FILE = Pattern.compile("\\d{20}\\..*");

  /**
   * The first entry that is not a leftover of an aborted Delta write, as a phrase, or null.
   * Leftovers: {@code _delta_log} without commit or checkpoint files, {@code part-*} data files
   * and their {@code .crc}, partition folders {@code col=value} of the same, and this tool's
   * staging folder.
   */
  private static String foreignEntry(FileSystem fs, FileStatus[] entries, boolean top) throws IOException {
    for (FileStatus e : entries) {
      String n = e.getPath().getName();
      if (e.isDirectory()) {
        if (top && n.equals("_delta_log")) {
          for (FileStatus l : fs.listStatus(e.getPath())) {
            String ln = l.getPath().getName();
            if (COMMIT_FILE.matcher(ln).matches() || ln.equals("_last_checkpoint")) {
              return "a Delta log whose commits are unreadable (" + ln + ")";
            }
            if (l.isDirectory() && !ln.equals("_staged_commits") && !ln.equals("_commits")) {
              return "an unexpected folder " + l.getPath();
            }
          }
        } else if (top && n.equals(STAGING)) {
          continue;
        } else if (n.contains("=") && !n.startsWith("_") && !n.startsWith(".")) {
          String inner = foreignEntry(fs, fs.listStatus(e.getPath()), false);
          if (inner != null) {
            return inner;
          }
        } else {
          return "a folder " + n;
        }
      } else if (!(n.startsWith("part-") || n.startsWith(".part-") && n.endsWith(".crc"))) {
        return "a file " + n;
      }
    }
    return null;
  }

  /** The schema with every field nullable, as Delta stores a written DataFrame's schema. */
  private static StructType nullable(StructType schema) {
    StructType out = new StructType();
    for (StructField f : schema.fields()) {
      out = out.add(new StructField(f.name(), nullable(f.dataType()), true, f.metadata()));
    }
    return out;
  }

  private static DataType nullable(DataType t) {
    if (t instanceof StructType s) {
      return nullable(s);
    }
    if (t instanceof ArrayType a) {
      return DataTypes.createArrayType(nullable(a.elementType()), true);
    }
    return t;
  }

  /** Conflicting commits retried before a run gives up. */
  static final int COMMIT_ATTEMPTS = 5;

  /**
   * Runs a write, retrying it when another writer committed first (Delta's concurrent-modification
   * exceptions, or a table created at the same time): every write here is idempotent or did not
   * commit. After {@link #COMMIT_ATTEMPTS} attempts: a one-line RadioException.
   */
  private void retrying(String what, Runnable write) {
    for (int attempt = 1; ; attempt++) {
      try {
        write.run();
        return;
      } catch (RuntimeException e) {
        Throwable conflict = conflict(e);
        if (conflict == null && what.equals("create") && notFound(e)) {
          // Another run is creating it: its _delta_log is there, its first commit not yet (Delta says
          // the table is not found, or its location is not empty and not a table).
          conflict = e;
        }
        if (conflict == null) {
          throw e;
        }
        if (attempt >= COMMIT_ATTEMPTS) {
          throw new RadioException("Another writer changed the table " + name + " during each of " + COMMIT_ATTEMPTS
              + " attempts of this run's " + what + " (" + conflict.getClass().getSimpleName() + "): run the same "
              + "command again, it keeps what is committed and finishes the job.", e);
        }
        LOG.info("radio extract: the {} of {} conflicted with another writer ({}); retrying", what, name,
            conflict.getClass().getSimpleName());
        try {
          Thread.sleep(200L * attempt + ThreadLocalRandom.current().nextLong(300L * attempt));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private static boolean notFound(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      // By condition, and by the message's [CONDITION] prefix: Delta's exceptions do not all report
      // their condition through SparkThrowable (a concurrent create was seen to escape).
      String condition = t instanceof org.apache.spark.SparkThrowable st ? st.getCondition() : null;
      String message = String.valueOf(t.getMessage());
      for (String c : List.of("DELTA_TABLE_NOT_FOUND", "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION")) {
        if (c.equals(condition) || message.startsWith("[" + c + "]")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The concurrent-write conflict in {@code e}'s causes, or null. */
  static Throwable conflict(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.util.ConcurrentModificationException
          || t instanceof org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException
          || t instanceof org.apache.hadoop.fs.FileAlreadyExistsException
          || t instanceof java.nio.file.FileAlreadyExistsException) {
        return t;
      }
    }
    return null;
  }

  /**
   * The table's current version: the one Delta reported for the last commit made through this
   * object, else read from the table's history (a Spark job).
   */
  long version() {
    return committedVersion != null ? committedVersion : delta().history(1).select("version").head().getLong(0);
  }

  /**
   * Runs a write of this table and keeps the version Delta committed, as Delta records it in the
   * session ({@code spark.databricks.delta.lastCommitVersionInSession}); no version is kept when
   * the write did not report one.
   */
  private <E extends Exception> void committing(Write<E> write) throws E {
    committedVersion = null;
    spark.conf().unset(LAST_COMMIT_VERSION);
    write.run();
    String v = spark.conf().get(LAST_COMMIT_VERSION, null);
    committedVersion = v == null ? null : Long.valueOf(v);
  }

  private interface Write<E extends Exception> {
    void run() throws E;
  }

  Map<String, String> properties() {
    return spark.sql("SHOW TBLPROPERTIES " + sqlName()).collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getString(0), r -> r.getString(1), (a, b) -> b));
  }

  void setProperties(Map<String, String> props) {
    String list = props.entrySet().stream()
        .map(e -> "'" + e.getKey() + "' = '" + e.getValue().replace("\\", "\\\\").replace("'", "\\'") + "'")
        .collect(Collectors.joining(", "));
    retrying("alter", () -> committing(() -> spark.sql("ALTER TABLE " + sqlName() + " SET TBLPROPERTIES (" + list
        + ")")));
  }

  void unsetProperty(String key) {
    retrying("alter", () -> committing(() -> spark.sql("ALTER TABLE " + sqlName() + " UNSET TBLPROPERTIES IF EXISTS ('"
        + key + "')")));
  }
}
