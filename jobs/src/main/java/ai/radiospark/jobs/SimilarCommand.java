package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import ai.radiospark.Cosine;
import ai.radiospark.RadioException;
import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.ml.RadioEmbedder;
import ai.radiospark.runtime.EmbeddingSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.collection.Seq;

/**
 * {@code radio similar}: the images of a table nearest to a query image, by cosine similarity of
 * their summaries. A query file is embedded with the model and settings the table records.
 */
@Command(
        name = "similar",
        mixinStandardHelpOptions = true,
        description =
                "List the images of an embedding table nearest to a query (an image file, or a path in the table) "
                        + "by cosine similarity of their summary embeddings.")
public final class SimilarCommand implements Callable<Integer> {
    @Option(names = "--table", required = true, paramLabel = "PATH|TABLE", description = "The Delta table.")
    String table;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Query query;

    static final class Query {
        @Option(names = "--image", paramLabel = "FILE", description = "A query image file, embedded now.")
        Path image;

        @Option(names = "--path", paramLabel = "P", description = "The path of an image already in the table.")
        String path;
    }

    @Option(names = "--k", defaultValue = "10", description = "How many neighbours (default ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--master", description = "Spark master; default local[*] outside spark-submit.")
    String master;

    @Option(
            names = "--index",
            paramLabel = "DIR",
            description = "The index folder radio index built (default: the table's folder + " + IndexCommand.SUFFIX
                    + "); used when it covers the table's current version and model.")
    Path index;

    @Option(names = "--no-index", description = "Scan every row exactly, even when a current index exists.")
    boolean noIndex;

    @Option(
            names = "--rerank",
            defaultValue = "" + VectorIndex.DEFAULT_RERANK,
            description = "With the index: candidates rescored with the exact vectors (default ${DEFAULT-VALUE}).")
    int rerank;

    PrintStream out = System.out;

    @Override
    public Integer call() {
        OptionException.require(k > 0, "--k", k, "Use a positive number of neighbours, e.g. 10.");
        OptionException.require(rerank > 0, "--rerank", rerank, "Use a positive number of candidates, e.g. 200.");
        if (index != null && !noIndex) {
            IndexManifest.read(index, "--index"); // a folder that is not ours: refused before Spark starts
        }
        if (query.image != null) {
            checkQueryImage(query.image);
        }
        LocalPaths.checkTable("--table", table);
        if (!noIndex && query.path != null && answerWithoutSpark()) {
            return 0;
        }
        SparkSession spark = JobSpark.session("radio similar", master);
        EmbeddingTable t = EmbeddingTable.of(spark, table);
        if (!t.exists()) {
            throw new RadioException(
                    "There is no Delta table at " + table + ". Run radio extract first, or check --table.");
        }
        float[] q = query.image != null ? embed(spark, t, query.image) : lookUp(t, query.path);
        // Only rows made as the table's properties say (a --reembed may be under way) are comparable.
        Map<String, String> target = TableSettings.targetSettings(t.properties());
        String name = query.image != null ? query.image.toString() : query.path;
        IndexChoice choice = noIndex ? null : chooseIndex(t, target);
        List<String[]> top;
        long skipped;
        if (choice != null && choice.manifest() != null) {
            out.println("search: index (table version " + choice.manifest().tableVersion() + ")");
            top = searchIndex(choice, unitQuery(choice, q));
            skipped = choice.manifest().skippedOtherSettings();
        } else {
            out.println("search: exact scan (" + (noIndex ? "--no-index" : choice.why()) + ")");
            Dataset<Row> all = t.read().where(col("summary").isNotNull());
            Column comparable = TableSettings.comparable(all, target);
            Dataset<Row> candidates = all.where(comparable);
            skipped = all.where(not(comparable)).count();
            if (query.path != null) {
                candidates = candidates.where(col("path").notEqual(lit(query.path)));
            }
            UserDefinedFunction cosine = org.apache.spark.sql.functions.udf(
                    (UDF1<Seq<Float>, Double>) s -> Cosine.similarity(q, toFloats(s)), DataTypes.DoubleType);
            top = new ArrayList<>();
            for (Row r : candidates
                    .select(col("path"), cosine.apply(col("summary")).as("similarity"))
                    .orderBy(col("similarity").desc(), col("path"))
                    .limit(k)
                    .collectAsList()) {
                top.add(new String[] {r.getString(0), String.format(Locale.ROOT, "%.6f", r.getDouble(1))});
            }
        }
        print(top, skipped, name);
        return 0;
    }

    /**
     * A {@code --path} query of a local table whose index is current, answered from the index
     * alone, without starting Spark: the table's version and properties come from its {@code
     * _delta_log} files ({@link DeltaLogFiles}), the query's vector from the index (the unit vector
     * it stores for that path). Returns false, having printed nothing, whenever that does not hold
     * (no index, a stale one, a path the index does not hold, a log it cannot read): Spark then
     * decides, as before.
     */
    boolean answerWithoutSpark() {
        java.nio.file.Path local = LocalPaths.localPath(table);
        String location;
        try {
            // As EmbeddingTable names a path table (Hadoop's qualified path), with Hadoop's defaults instead of
            // Spark's.
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(table);
            location = p.getFileSystem(new org.apache.hadoop.conf.Configuration())
                    .makeQualified(p)
                    .toString();
        } catch (IOException | RuntimeException e) {
            return false;
        }
        if (local == null || LocalPaths.localPath(location) == null) {
            return false;
        }
        Path dir = index != null ? index : IndexCommand.defaultDir(location);
        IndexManifest m = IndexManifest.read(dir, "--index");
        DeltaLogFiles.State state = m == null ? null : DeltaLogFiles.read(local);
        if (state == null || !m.table().equals(location) || state.version() != m.tableVersion()) {
            return false;
        }
        Map<String, String> target = TableSettings.targetSettings(state.properties());
        String sha = target.get("checkpoint_sha256");
        String rowSettings = target.isEmpty() ? null : TableSettings.rowSettings(target);
        if (!java.util.Objects.equals(m.checkpointSha256(), sha)
                || !java.util.Objects.equals(m.settings(), rowSettings)) {
            return false;
        }
        int ordinal = m.readPaths(dir).indexOf(query.path);
        if (ordinal < 0) {
            return false; // not indexed (an error row, another model's row, or not in the table): Spark tells
        }
        float[] unit;
        try (VectorIndex ix = openIndex(dir, m)) {
            unit = ix.vector(ordinal);
        } catch (java.io.IOException e) {
            return false;
        }
        IndexChoice choice = new IndexChoice(dir, m, null);
        out.println("search: index (table version " + m.tableVersion() + ")");
        print(searchIndex(choice, unit), m.skippedOtherSettings(), query.path);
        return true;
    }

    private static VectorIndex openIndex(Path dir, IndexManifest m) throws java.io.IOException {
        return VectorIndex.open(dir.resolve(m.graph()), m.pq() == null ? null : dir.resolve(m.pq()));
    }

    private void print(List<String[]> top, long skipped, String name) {
        out.printf("Nearest %d of %s to %s:%n", top.size(), table, name);
        if (skipped > 0) {
            out.printf(
                    "(%,d rows made with another model or settings than the table's skipped: a --reembed is not "
                            + "finished; rerun it to include them)%n",
                    skipped);
        }
        int rank = 1;
        for (String[] r : top) {
            out.printf("%3d  %s  %s%n", rank++, r[1], r[0]);
        }
        out.flush();
    }

    /** The index {@code radio similar} would use, or (manifest null) why it uses the exact scan. */
    record IndexChoice(Path dir, IndexManifest manifest, String why) {}

    /**
     * The table's index when it is current (same table version, checkpoint and settings), else
     * why not. An index folder that is not radio-spark's is refused (exit code 1).
     */
    IndexChoice chooseIndex(EmbeddingTable t, Map<String, String> target) {
        String location = t.location();
        Path dir;
        if (index != null) {
            dir = index;
        } else {
            if (LocalPaths.localPath(location) == null) {
                return new IndexChoice(null, null, "the table is not local: give --index DIR to use an index");
            }
            dir = IndexCommand.defaultDir(location);
        }
        IndexManifest m = IndexManifest.read(dir, "--index");
        if (m == null) {
            return new IndexChoice(dir, null, "no index at " + dir + "; radio index builds one");
        }
        String sha = target.get("checkpoint_sha256");
        String rowSettings = target.isEmpty() ? null : TableSettings.rowSettings(target);
        if (!m.table().equals(location)) {
            return new IndexChoice(dir, null, "the index at " + dir + " is of another table, " + m.table());
        }
        if (!java.util.Objects.equals(m.checkpointSha256(), sha)
                || !java.util.Objects.equals(m.settings(), rowSettings)) {
            return new IndexChoice(
                    dir,
                    null,
                    "the index at " + dir + " is of checkpoint " + IndexCommand.shortSha(m.checkpointSha256()) + " ("
                            + m.settings() + "), the table's embeddings of " + IndexCommand.shortSha(sha) + " ("
                            + rowSettings + "): it is not used; radio index rebuilds it");
        }
        long version = t.version();
        if (m.tableVersion() != version) {
            return new IndexChoice(
                    dir,
                    null,
                    "index is stale: covers version " + m.tableVersion() + ", table is at " + version
                            + "; radio index brings it up to date");
        }
        return new IndexChoice(dir, m, null);
    }

    /** The query's unit vector, checked against the index's dimension. */
    private static float[] unitQuery(IndexChoice choice, float[] q) {
        IndexManifest m = choice.manifest();
        if (q.length != m.dimension()) {
            throw new RadioException(
                    "The query has " + q.length + " floats but the index at " + choice.dir() + " holds " + m.dimension()
                            + ": query with the table's model, or rebuild the index with radio index.");
        }
        float[] unit = IndexCommand.unit(toObjects(q));
        if (unit == null) {
            throw new RadioException("The query's summary is all zeros or not finite: it has no direction to compare. "
                    + "Query another image.");
        }
        return unit;
    }

    /** The k nearest of a unit query by the index: ANN candidates reranked with the exact vectors (cosines exact). */
    private List<String[]> searchIndex(IndexChoice choice, float[] unit) {
        IndexManifest m = choice.manifest();
        List<String> paths = m.readPaths(choice.dir());
        List<VectorIndex.Hit> hits;
        try (VectorIndex ix = openIndex(choice.dir(), m)) {
            // One more, for the query image itself when it is in the table (--path).
            hits = ix.search(unit, k + (query.path != null ? 1 : 0), Math.max(rerank, k + 1));
        } catch (java.io.IOException e) {
            throw new RadioException("Cannot read the index at " + choice.dir() + ": " + e.getMessage()
                    + ". Delete the folder and run radio index again.");
        }
        List<Object[]> rows = new ArrayList<>();
        for (VectorIndex.Hit h : hits) {
            String p = paths.get(h.ordinal());
            if (!p.equals(query.path)) {
                rows.add(new Object[] {p, h.cosine()});
            }
        }
        rows.sort(java.util.Comparator.<Object[]>comparingDouble(r -> -(Double) r[1])
                .thenComparing(r -> (String) r[0]));
        List<String[]> top = new ArrayList<>();
        for (Object[] r : rows.subList(0, Math.min(k, rows.size()))) {
            top.add(new String[] {(String) r[0], String.format(Locale.ROOT, "%.6f", (Double) r[1])});
        }
        return top;
    }

    private static List<Object> toObjects(float[] v) {
        List<Object> l = new ArrayList<>(v.length);
        for (float x : v) {
            l.add(x);
        }
        return l;
    }

    static float[] toFloats(Seq<Float> s) {
        return toFloats(scala.jdk.javaapi.CollectionConverters.asJava(s));
    }

    private static float[] lookUp(EmbeddingTable t, String path) {
        List<Row> rows = t.read()
                .where(col("path").equalTo(lit(path)))
                .select("summary", "error")
                .collectAsList();
        if (rows.isEmpty()) {
            throw new RadioException("The table " + t.name() + " has no row with path " + path
                    + ". Give the path as the table stores it (radio show lists them), or query by --image.");
        }
        if (rows.get(0).isNullAt(0)) {
            throw new RadioException("The image " + path + " has no embedding in " + t.name() + ": "
                    + rows.get(0).getString(1));
        }
        return toFloats(rows.get(0).<Float>getList(0));
    }

    static float[] toFloats(List<Float> s) {
        float[] v = new float[s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = s.get(i);
        }
        return v;
    }

    /** The query image must be a readable image: checked (decoded once) before Spark starts. */
    private static void checkQueryImage(Path image) {
        OptionException.require(Files.isRegularFile(image), "--image", image, "No such file. Give an image file.");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(image);
        } catch (IOException e) {
            throw new RadioException(
                    "Cannot read the query image " + image + ": " + e.getMessage() + ". Check its " + "permissions.",
                    e);
        }
        try {
            ImagePreprocessor.builder().build().preprocess(bytes, image.toString());
        } catch (RadioException e) {
            throw new RadioException("The query image cannot be used: " + e.getMessage(), e);
        }
    }

    /** Embeds the query file with the model, size, resize mode and dtype the table was written with. */
    private static float[] embed(SparkSession spark, EmbeddingTable t, Path image) {
        Map<String, String> props = t.properties();
        String model = props.get("radio.model");
        if (model == null) {
            throw new RadioException(
                    "The table " + t.name() + " does not record its model (table property radio.model): "
                            + "query it by --path, or re-run radio extract to record it.");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(image);
        } catch (IOException e) {
            throw new RadioException("Cannot read the query image " + image + ": " + e.getMessage(), e);
        }
        StructType schema = new StructType().add("path", DataTypes.StringType).add("content", DataTypes.BinaryType);
        Dataset<Row> one = spark.createDataFrame(List.of(RowFactory.create(image.toString(), bytes)), schema);
        EmbeddingSettings made = EmbeddingSettings.fromTableProperties(props);
        RadioEmbedder embedder = new RadioEmbedder()
                .setInputCol("content")
                .setModel(model)
                .setImageSize(made.imageSize())
                .setResizeMode(made.resizeMode())
                .setDtype(made.dtype())
                .setFeaturesMode("none")
                .setFailOnError(true);
        return toFloats(embedder.transform(one).select("summary").head().<Float>getList(0));
    }
}
