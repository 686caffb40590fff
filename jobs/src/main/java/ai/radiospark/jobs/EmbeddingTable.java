package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import io.delta.tables.DeltaTable;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/**
 * The Delta table of embeddings, named by a path or by a metastore table name: one row per image,
 * keyed by {@code path}.
 */
final class EmbeddingTable {
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

  boolean exists() {
    return isPath ? DeltaTable.isDeltaTable(spark, name) : spark.catalog().tableExists(name);
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

  /** Inserts new paths and replaces the rows of paths already present: one commit. */
  void merge(Dataset<Row> rows) {
    committing(() -> delta().as("t").merge(rows.as("s"), "t.path = s.path").whenMatched().updateAll()
        .whenNotMatched().insertAll().execute());
  }

  void write(Dataset<Row> rows, SaveMode mode, List<String> partitionBy) {
    var w = rows.write().format("delta").mode(mode);
    if (!partitionBy.isEmpty()) {
      w = w.partitionBy(partitionBy.toArray(new String[0]));
    }
    if (mode == SaveMode.Overwrite) {
      w = w.option("overwriteSchema", "true");
    }
    var writer = w;
    committing(() -> {
      if (isPath) {
        writer.save(name);
      } else {
        writer.saveAsTable(name);
      }
    });
  }

  /**
   * Creates the table from {@code rows} with these table properties, in one commit (a write and
   * then ALTER TABLE would take two). Fails if the table exists.
   */
  void create(Dataset<Row> rows, List<String> partitionBy, Map<String, String> properties) {
    var w = rows.writeTo(sqlName()).using("delta");
    for (Map.Entry<String, String> e : properties.entrySet()) {
      w = w.tableProperty(e.getKey(), e.getValue());
    }
    if (!partitionBy.isEmpty()) {
      Column[] rest = partitionBy.stream().skip(1).map(functions::col).toArray(Column[]::new);
      w = w.partitionedBy(functions.col(partitionBy.get(0)), rest);
    }
    var writer = w;
    try {
      committing(writer::create);
    } catch (org.apache.spark.sql.catalyst.analysis.TableAlreadyExistsException e) {
      throw new RadioException("The table " + name + " was created by someone else while this job ran. Run the job "
          + "again: it will merge into it.", e);
    }
  }

  /** Deletes the rows embedded by another checkpoint than {@code sha256} (after --reembed). */
  void deleteOtherModels(String sha256) {
    committing(() -> delta().delete(functions.col("checkpoint_sha256").notEqual(functions.lit(sha256))
        .or(functions.col("checkpoint_sha256").isNull())));
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
    committing(() -> spark.sql("ALTER TABLE " + sqlName() + " SET TBLPROPERTIES (" + list + ")"));
  }

  /** Checks that the table holds embeddings of one checkpoint, and returns it (null when empty). */
  String checkpointOfExistingRows() {
    List<Row> shas = read().select("checkpoint_sha256").where("checkpoint_sha256 IS NOT NULL").distinct().limit(3)
        .collectAsList();
    if (shas.size() > 1) {
      throw new RadioException("The table " + name + " mixes embeddings of " + shas.size()
          + " checkpoints. Re-run with --reembed to re-embed every image with one model.");
    }
    return shas.isEmpty() ? null : shas.get(0).getString(0);
  }
}
