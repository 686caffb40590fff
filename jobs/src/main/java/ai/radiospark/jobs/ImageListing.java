package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.octet_length;

import ai.radiospark.RadioException;
import io.delta.tables.DeltaTable;
import java.io.IOException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.GlobFilter;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The images a job reads: every file under a folder or glob (recursively, filtered by extension),
 * or the rows of a table with a path column and optionally a binary column of image bytes.
 *
 * <p>{@link #files()} lists metadata only ({@code path}, {@code byte_size},
 * {@code modification_time}); {@link #withContent} reads the bytes of a chunk of them.
 */
final class ImageListing {
    private static final Logger LOG = LoggerFactory.getLogger(ImageListing.class);
    static final List<String> DEFAULT_EXTENSIONS = List.of("jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff");

    private enum Kind {
        FILES,
        TABLE_PATHS,
        TABLE_CONTENT
    }

    private final SparkSession spark;
    private final String input;
    private final Kind kind;
    private final String globFilter;
    private final Dataset<Row> table;
    private final String pathColumn;
    private final String contentColumn;

    private ImageListing(
            SparkSession spark,
            String input,
            Kind kind,
            String globFilter,
            Dataset<Row> table,
            String pathColumn,
            String contentColumn) {
        this.spark = spark;
        this.input = input;
        this.kind = kind;
        this.globFilter = globFilter;
        this.table = table;
        this.pathColumn = pathColumn;
        this.contentColumn = contentColumn;
    }

    static ImageListing of(
            SparkSession spark, String input, List<String> extensions, String pathColumn, String contentColumn) {
        String glob = globFilter(extensions);
        Dataset<Row> table = null;
        if (EmbeddingTable.looksLikePath(input)) {
            if (DeltaTable.isDeltaTable(spark, input)) {
                table = spark.read().format("delta").load(input);
            }
        } else if (spark.catalog().tableExists(input)) {
            table = spark.table(input);
        } else {
            throw new RadioException("--input " + input + " is neither a folder or glob of images (a path needs a '/') "
                    + "nor an existing table. Give a folder such as ./photos, a glob such as 's3a://bucket/img/*/*.jpg', "
                    + "or the name of a table with a path column.");
        }
        if (table == null) {
            return new ImageListing(spark, input, Kind.FILES, glob, null, "path", null);
        }
        StructType schema = table.schema();
        if (!Arrays.asList(schema.fieldNames()).contains(pathColumn)) {
            throw new RadioException("The input table " + input + " has no column `" + pathColumn + "` (it has "
                    + String.join(", ", schema.fieldNames()) + "). Every image needs a path to identify it: set "
                    + "--path-column.");
        }
        DataType pt = schema.apply(pathColumn).dataType();
        if (!(pt instanceof StringType)) {
            throw new RadioException("Column `" + pathColumn + "` of " + input + " must be a string path, but is "
                    + pt.simpleString() + ". Set --path-column to a string column.");
        }
        String content = contentColumn;
        if (content == null && Arrays.asList(schema.fieldNames()).contains("content")) {
            content = "content";
        }
        if (content != null) {
            if (!Arrays.asList(schema.fieldNames()).contains(content)) {
                throw new RadioException(
                        "The input table " + input + " has no column `" + content + "` (--content-column).");
            }
            DataType ct = schema.apply(content).dataType();
            if (!(ct instanceof BinaryType)) {
                throw new RadioException("Column `" + content + "` of " + input + " must be binary image bytes, but is "
                        + ct.simpleString()
                        + ". Set --content-column to a binary column, or leave it out to read the paths.");
            }
            return new ImageListing(spark, input, Kind.TABLE_CONTENT, glob, table, pathColumn, content);
        }
        return new ImageListing(spark, input, Kind.TABLE_PATHS, glob, table, pathColumn, null);
    }

    /** A binaryFile glob filter matching the extensions in lower and upper case. */
    static String globFilter(List<String> extensions) {
        Set<String> all = new LinkedHashSet<>();
        for (String e : extensions) {
            String x = e.trim().replaceFirst("^\\*?\\.", "");
            if (x.isEmpty() || !x.matches("[A-Za-z0-9]+")) {
                throw new RadioException("Invalid extension \"" + e + "\" in --extensions. Give a comma-separated list "
                        + "such as jpg,jpeg,png.");
            }
            all.add(x.toLowerCase(Locale.ROOT));
            all.add(x.toUpperCase(Locale.ROOT));
        }
        return "*.{" + String.join(",", all) + "}";
    }

    /** Whether the input is a folder or glob of files, listed by {@link #listFolder} on the driver. */
    boolean isFolder() {
        return kind == Kind.FILES;
    }

    /**
     * The images of a folder or glob input as {@code path, byte_size, modification_time} rows,
     * listed on the driver ({@link FolderListing}).
     */
    List<Row> listFolder() {
        return FolderListing.list(spark.sparkContext().hadoopConfiguration(), input, globFilter);
    }

    /** Rows of {@link #listFolder} as a Dataset (partitions of up to 10,000 rows, at most one per core). */
    Dataset<Row> asDataset(List<Row> listed) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        int slices = Math.max(1, Math.min(spark.sparkContext().defaultParallelism(), listed.size() / 10_000 + 1));
        return spark.createDataFrame(jsc.parallelize(listed, slices), ReadContent.LISTED);
    }

    /** Path, byte size and modification time of every image; no bytes are read. */
    Dataset<Row> files() {
        return switch (kind) {
            case FILES -> asDataset(listFolder());
            case TABLE_PATHS ->
                table.select(col(pathColumn))
                        .where(col(pathColumn).isNotNull())
                        .distinct()
                        .as(Encoders.STRING())
                        .mapPartitions(
                                new StatPaths(
                                        globFilter,
                                        new SerializableConfiguration(
                                                spark.sparkContext().hadoopConfiguration())),
                                Encoders.row(ReadContent.LISTED));
            case TABLE_CONTENT -> table.select(tableListing()).dropDuplicates("path");
        };
    }

    /**
     * A table's rows as listed images: {@code path, byte_size} (the content's length) and a null
     * {@code modification_time}, then {@code more}.
     */
    private Column[] tableListing(Column... more) {
        List<Column> columns = new ArrayList<>(List.of(
                col(pathColumn).as("path"),
                octet_length(col(contentColumn)).cast("long").as("byte_size"),
                lit(null).cast("timestamp").as("modification_time")));
        columns.addAll(Arrays.asList(more));
        return columns.toArray(Column[]::new);
    }

    /**
     * These listed images ({@code path, byte_size, modification_time} rows of {@link #files()}) with
     * their bytes, as {@code path, byte_size, modification_time, content, read_error}, in
     * {@code partitions} partitions of equal image counts. Files are read by the tasks that use
     * them ({@link ReadContent}); table content is taken from the table.
     */
    Dataset<Row> withContent(List<Row> listed, int partitions) {
        if (kind == Kind.TABLE_CONTENT) {
            Object[] paths = listed.stream().map(r -> r.getString(0)).toArray();
            return table.where(col(pathColumn).isin(paths))
                    .select(tableListing(
                            col(contentColumn).as("content"),
                            lit(null).cast("string").as("read_error")))
                    .dropDuplicates("path");
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> meta = spark.createDataFrame(jsc.parallelize(listed, Math.max(1, partitions)), ReadContent.LISTED);
        return meta.mapPartitions(
                new ReadContent(
                        new SerializableConfiguration(spark.sparkContext().hadoopConfiguration())),
                Encoders.row(ReadContent.WITH_CONTENT));
    }

    /**
     * Partitions for a chunk of {@code images}: a multiple of the cluster's parallelism with at most
     * 512 images each (so every core gets an equal share, and a failed task redoes at most 512),
     * and never fewer than one batch per partition.
     */
    static int partitions(int images, int batchSize, int parallelism) {
        int p = Math.max(1, parallelism);
        long waves = Math.max(1, (images + (long) p * 512 - 1) / ((long) p * 512));
        long batches = Math.max(1, (images + (long) batchSize - 1) / Math.max(1, batchSize));
        return (int) Math.min(batches, p * waves);
    }

    /**
     * The listing rows of a table's paths, in the tasks: each path qualified, with its size and time.
     * A path that does not exist (or cannot be looked at) keeps a row with null size and time, so that
     * reading it makes an error row, as for an unreadable file in a folder, and the job goes on; a
     * folder contributes the files below it. Names not matching the extensions are left out, as
     * binaryFile's pathGlobFilter did.
     */
    static final class StatPaths implements MapPartitionsFunction<String, Row> {
        private static final long serialVersionUID = 1L;
        private final String globFilter;
        private final SerializableConfiguration conf;

        StatPaths(String globFilter, SerializableConfiguration conf) {
            this.globFilter = globFilter;
            this.conf = conf;
        }

        @Override
        public Iterator<Row> call(Iterator<String> paths) throws IOException {
            GlobFilter names = new GlobFilter(globFilter);
            List<Row> out = new ArrayList<>();
            while (paths.hasNext()) {
                String given = paths.next();
                Path p;
                FileSystem fs;
                try {
                    p = new Path(given);
                    fs = p.getFileSystem(conf.value());
                    p = fs.makeQualified(p);
                } catch (IllegalArgumentException | IOException e) { // not a usable path: its read says why
                    out.add(RowFactory.create(given, null, null));
                    continue;
                }
                FileStatus st;
                try {
                    st = fs.getFileStatus(p);
                } catch (IOException e) {
                    if (names.accept(p)) {
                        out.add(RowFactory.create(p.toString(), null, null));
                    }
                    continue;
                }
                if (st.isDirectory()) {
                    String prefix = p.toUri().getPath();
                    RemoteIterator<LocatedFileStatus> files = fs.listFiles(p, true);
                    while (files.hasNext()) {
                        LocatedFileStatus f = files.next();
                        if (names.accept(f.getPath())
                                && !FolderListing.hiddenBelow(
                                        prefix, f.getPath().toUri().getPath())) {
                            out.add(FolderListing.row(f));
                        }
                    }
                } else if (names.accept(p)) {
                    out.add(RowFactory.create(p.toString(), st.getLen(), new Timestamp(st.getModificationTime())));
                }
            }
            return out.iterator();
        }
    }
}
