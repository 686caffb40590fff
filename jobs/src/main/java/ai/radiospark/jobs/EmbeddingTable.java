package ai.radiospark.jobs;

import ai.radiospark.RadioException;
import io.delta.tables.DeltaTable;
import io.delta.tables.DeltaTableBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
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

/**
 * The Delta table of embeddings, named by a path or by a metastore table name: one row per image,
 * keyed by {@code path}.
 */
final class EmbeddingTable {

    private final SparkSession spark;
    private final String name;
    private final boolean isPath;
    /** This table's commits made through this object, retried on conflicts. */
    private final TableCommits commits;

    private EmbeddingTable(SparkSession spark, String name) {
        this.spark = spark;
        this.name = name;
        this.isPath = looksLikePath(name);
        this.commits = new TableCommits(spark, name, this::logExists);
    }

    static EmbeddingTable of(SparkSession spark, String output) {
        if (looksLikePath(output)) {
            // Delta's SQL names a path table by its absolute, qualified path.
            try {
                org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
                output = p.getFileSystem(spark.sparkContext().hadoopConfiguration())
                        .makeQualified(p)
                        .toString();
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

    /**
     * Whether the table's log is there, with or without a first commit: a path's {@code _delta_log}
     * folder, a name in the catalog.
     */
    private boolean logExists() {
        if (!isPath) {
            return spark.catalog().tableExists(name);
        }
        try {
            Path log = new Path(name, "_delta_log");
            return log.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(log);
        } catch (IOException e) {
            return false;
        }
    }

    Dataset<Row> read() {
        return isPath ? spark.read().format("delta").load(name) : spark.table(name);
    }

    /** The table as it was at {@code version} (Delta time travel). */
    Dataset<Row> readAt(long version) {
        return spark.sql("SELECT * FROM " + sqlName() + " VERSION AS OF " + version);
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
        commits.commit("merge", () -> {
            var m = delta().as("t")
                    .merge(rows.as("s"), "t.path = s.path")
                    .whenMatched()
                    .updateAll()
                    .whenNotMatched()
                    .insertAll();
            if (deleteUnmatched != null) {
                m = m.whenNotMatchedBySource(deleteUnmatched).delete();
            }
            m.execute();
        });
    }

    /** Appends the rows: one commit. */
    void append(Dataset<Row> rows) {
        commits.commit("append", () -> {
            var w = rows.write().format("delta").mode(SaveMode.Append);
            if (isPath) {
                w.save(name);
            } else {
                w.saveAsTable(name);
            }
        });
    }

    /** Appends rows, creating the table if needed (the quarantine table). */
    void write(Dataset<Row> rows, SaveMode mode, List<String> partitionBy) {
        var w = rows.write().format("delta").mode(mode);
        if (!partitionBy.isEmpty()) {
            w = w.partitionBy(partitionBy.toArray(new String[0]));
        }
        var writer = w;
        commits.commit("write", () -> {
            if (isPath) {
                writer.save(name);
            } else {
                writer.saveAsTable(name);
            }
        });
    }

    /**
     * Creates the table empty, with this schema, partitioning and table properties, in one
     * metadata-only commit; does nothing when the table exists (another run may have created it).
     */
    void createEmpty(StructType schema, List<String> partitionBy, Map<String, String> properties) {
        commits.commit("create", () -> {
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
        });
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
        commits.commit("replace", writer::createOrReplace);
    }

    /** Deletes the rows that match: one commit (no commit when none match). */
    void delete(Column condition) {
        if (!read().where(condition).isEmpty()) {
            commits.commit("delete", () -> delta().delete(condition));
        }
    }

    /** Sets {@code column} to {@code value} where it is null: one commit (none when no row is null). */
    void fillNulls(String column, String value) {
        Column isNull = functions.col(column).isNull();
        if (!read().where(isNull).isEmpty()) {
            commits.commit("update", () -> delta().update(isNull, Map.of(column, functions.lit(value))));
        }
    }

    boolean hasColumn(String column) {
        return Arrays.asList(read().columns()).contains(column);
    }

    /** Adds a nullable string column (a metadata-only commit); existing rows read it as null. */
    void addStringColumn(String column) {
        commits.commit("alter", () -> spark.sql("ALTER TABLE " + sqlName() + " ADD COLUMNS (" + column + " STRING)"));
    }

    /** The table's location: a path table's path, or a metastore table's location. */
    String location() {
        return isPath ? name : delta().detail().select("location").head().getString(0);
    }

    /**
     * Makes sure a path with no Delta table can take a new one: see {@link AbortedWriteCleanup}. A
     * metastore table name needs nothing.
     */
    void prepareForNewTable(PrintStream out) {
        if (!isPath) {
            return;
        }
        AbortedWriteCleanup.prepare(spark, name, this::exists, out);
    }

    /** The folder under a table's location where an overwrite stages the new table. */
    static final String STAGING = "_radio_staging";

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

    /**
     * The table's current version: the one Delta reported for the last commit made through this
     * object, else read from the table's history (a Spark job).
     */
    long version() {
        Long committed = commits.committedVersion();
        return committed != null
                ? committed
                : delta().history(1).select("version").head().getLong(0);
    }

    Map<String, String> properties() {
        return spark.sql("SHOW TBLPROPERTIES " + sqlName()).collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getString(0), r -> r.getString(1), (a, b) -> b));
    }

    void setProperties(Map<String, String> props) {
        String list = props.entrySet().stream()
                .map(e -> "'" + e.getKey() + "' = '"
                        + e.getValue().replace("\\", "\\\\").replace("'", "\\'") + "'")
                .collect(Collectors.joining(", "));
        commits.commit("alter", () -> spark.sql("ALTER TABLE " + sqlName() + " SET TBLPROPERTIES (" + list + ")"));
    }

    void unsetProperty(String key) {
        commits.commit(
                "alter",
                () -> spark.sql("ALTER TABLE " + sqlName() + " UNSET TBLPROPERTIES IF EXISTS ('" + key + "')"));
    }
}
