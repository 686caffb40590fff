package ai.radiospark.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import ai.radiospark.RadioException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code radio index}: builds the approximate-nearest-neighbour index ({@link VectorIndex}) of a
 * table's summaries, L2-normalised, for {@code radio similar}. The index folder records what it
 * covers ({@link IndexManifest}): the table's Delta version, checkpoint and settings. On an
 * unchanged table the command does nothing; on a changed one it rebuilds the index (a new
 * generation of files, then the manifest, atomically).
 *
 * <p>The index lives by default next to the table's folder, in {@code TABLE.radio-index}: outside
 * the table, where no VACUUM or other table maintenance can delete it, and on the local file system,
 * which the memory-mapped index needs.
 *
 * <pre>
 * radio index --table ./radio-output/embeddings
 * radio similar --table ./radio-output/embeddings --path file:/data/cat.jpg --k 10
 * </pre>
 */
@Command(
        name = "index",
        mixinStandardHelpOptions = true,
        description = "Build or bring up to date the approximate-nearest-neighbour index of a table's summary "
                + "embeddings (cosine), which radio similar then uses. Does nothing when the table is unchanged.")
public final class IndexCommand implements Callable<Integer> {
    /** The suffix of the default index folder, next to the table's folder. */
    static final String SUFFIX = ".radio-index";

    @Option(names = "--table", required = true, paramLabel = "PATH|TABLE", description = "The embedding table.")
    String table;

    @Option(
            names = "--index",
            paramLabel = "DIR",
            description = "The index folder, on the local file system (default: the table's folder + " + SUFFIX
                    + ", next to it).")
    Path index;

    @Option(names = "--master", description = "Spark master; default local[*] outside spark-submit.")
    String master;

    PrintStream out = System.out;

    @Override
    public Integer call() throws IOException {
        LocalPaths.checkTable("--table", table);
        if (index != null) {
            IndexManifest.read(index, "--index"); // a folder that is not ours: refused before Spark starts
        }
        SparkSession spark = JobSpark.session("radio index", master);
        EmbeddingTable t = EmbeddingTable.of(spark, table);
        if (!t.exists()) {
            throw new RadioException(
                    "There is no Delta table at " + table + ". Run radio extract first, or check --table.");
        }
        long start = System.nanoTime();
        String location = t.location();
        Path dir = index != null ? index : defaultDir(location);
        String option = index != null ? "--index" : "The default index folder";
        IndexManifest old = IndexManifest.read(dir, option);
        if (old != null && !old.table().equals(location)) {
            throw new RadioException(option + " " + dir + " holds the index of another table (" + old.table()
                    + "), not of " + location + ". Choose another --index.");
        }
        long version = t.version();
        Map<String, String> target = TableSettings.targetSettings(t.properties());
        String sha = target.get("checkpoint_sha256");
        String rowSettings = target.isEmpty() ? null : TableSettings.rowSettings(target);
        if (old != null && old.covers(location, version, sha, rowSettings)) {
            out.printf(
                    Locale.ROOT,
                    "radio index: the index at %s is up to date (table version %d, %,d vectors); nothing to do.%n",
                    dir,
                    version,
                    old.count());
            out.flush();
            return 0;
        }
        Rows rows = usableRows(t.readAt(version), target, table);
        Files.createDirectories(dir);
        String generation = version + "-" + UUID.randomUUID().toString().substring(0, 8);
        String graph = "graph-" + generation + ".jvector";
        String pq = "pq-" + generation + ".jvector";
        String paths = "paths-" + generation + ".json";
        VectorIndex.Built built =
                VectorIndex.build(rows.vectors(), rows.dimension(), dir.resolve(graph), dir.resolve(pq));
        IndexManifest.writePaths(dir.resolve(paths), rows.paths());
        IndexManifest m = new IndexManifest(
                location,
                version,
                sha,
                rowSettings,
                rows.dimension(),
                rows.paths().size(),
                rows.noSummary(),
                rows.unusable(),
                rows.otherSettings(),
                built.quantised(),
                graph,
                built.quantised() ? pq : null,
                paths,
                Instant.now().toString());
        m.write(dir);
        IndexManifest.deleteOtherGenerations(dir, Set.of(graph, pq, paths));
        out.printf(
                Locale.ROOT,
                "radio index: %,d vectors of %,d floats of table version %d indexed into %s in %.1f s (%s; %s)%n",
                m.count(),
                m.dimension(),
                version,
                dir,
                (System.nanoTime() - start) / 1e9,
                why(old, version, sha, rowSettings),
                built.quantised() ? "graph search on product-quantised codes, exact rerank" : "exact graph search");
        long skipped = rows.noSummary() + rows.unusable() + rows.otherSettings();
        if (skipped > 0) {
            out.printf(
                    Locale.ROOT,
                    "  skipped %,d rows: %,d without a summary (error rows), %,d unusable (all zeros, not finite or a "
                            + "null element), %,d made with another model or settings than the table's%n",
                    skipped,
                    rows.noSummary(),
                    rows.unusable(),
                    rows.otherSettings());
        }
        out.flush();
        return 0;
    }

    private static String why(IndexManifest old, long version, String sha, String rowSettings) {
        if (old == null) {
            return "new index";
        }
        if (!java.util.Objects.equals(old.checkpointSha256(), sha)
                || !java.util.Objects.equals(old.settings(), rowSettings)) {
            return "rebuilt: the index was of checkpoint " + shortSha(old.checkpointSha256()) + " (" + old.settings()
                    + "), the table is now " + shortSha(sha) + " (" + rowSettings + ")";
        }
        return "rebuilt: the index covered table version " + old.tableVersion() + ", the table is at " + version;
    }

    static String shortSha(String sha) {
        return sha == null ? "not recorded" : sha.substring(0, Math.min(12, sha.length()));
    }

    /**
     * The default index folder of a table location: next to a local table's folder; a table on
     * another file system needs {@code --index}.
     *
     * @throws RadioException when the table is not local (exit code 1)
     */
    static Path defaultDir(String location) {
        Path p = LocalPaths.localPath(location);
        if (p == null) {
            throw new RadioException("The table " + location + " is not on the local file system, and its index must "
                    + "be: give --index DIR, a local folder.");
        }
        return p.resolveSibling(p.getFileName() + SUFFIX);
    }

    /** The rows an index holds: unit vectors and their paths, sorted by path; what was skipped, counted. */
    record Rows(
            List<String> paths,
            List<float[]> vectors,
            int dimension,
            long noSummary,
            long unusable,
            long otherSettings) {}

    /**
     * The rows of {@code source} with a usable summary made as the table's properties say (as
     * {@code radio similar}'s exact scan compares them), L2-normalised.
     *
     * @throws RadioException for a table without a path or summary column, summaries of mixed
     *     lengths, or no usable row
     */
    static Rows usableRows(Dataset<Row> source, Map<String, String> target, String table) {
        StructType schema = source.schema();
        List<String> names = Arrays.asList(schema.fieldNames());
        if (!names.contains("summary")) {
            throw new RadioException("The table " + table + " has no summary column: it is not an embedding table (its "
                    + "columns: " + String.join(", ", names) + "). Point --table at a table radio extract wrote.");
        }
        if (!(schema.apply("summary").dataType() instanceof ArrayType a && a.elementType() instanceof NumericType)) {
            throw new RadioException("The summary column of " + table + " is "
                    + schema.apply("summary").dataType().sql() + ", not an array of floats. Point --table at a table "
                    + "radio extract wrote.");
        }
        if (!names.contains("path")) {
            throw new RadioException("The table " + table + " has no path column to name its images. Point --table at "
                    + "a table radio extract wrote.");
        }
        Column hasSummary = col("summary").isNotNull();
        if (names.contains("error")) {
            hasSummary = hasSummary.and(col("error").isNull());
        }
        Column comparable = TableSettings.comparable(source, target);
        Row counts = source.agg(
                        count(lit(1)),
                        sum(when(hasSummary, 0).otherwise(1)),
                        sum(when(hasSummary.and(not(comparable)), 1).otherwise(0)),
                        min(when(hasSummary.and(comparable), size(col("summary")))),
                        max(when(hasSummary.and(comparable), size(col("summary")))))
                .head();
        long noSummary = counts.isNullAt(1) ? 0 : counts.getLong(1);
        long other = counts.isNullAt(2) ? 0 : counts.getLong(2);
        if (!counts.isNullAt(3) && counts.getInt(3) != counts.getInt(4)) {
            throw new RadioException("The summaries of " + table + " have different lengths (" + counts.getInt(3)
                    + " and " + counts.getInt(4) + " floats): embeddings of different models or settings cannot be "
                    + "indexed together. Index a table of one model (radio extract --reembed makes one).");
        }
        List<String> paths = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        long unusable = 0;
        Iterator<Row> it = source.where(hasSummary.and(comparable))
                .select(col("path"), col("summary").cast("array<float>"))
                .orderBy(col("path"))
                .toLocalIterator();
        while (it.hasNext()) {
            Row r = it.next();
            float[] v = unit(r.getList(1));
            if (v == null) {
                unusable++;
            } else {
                paths.add(r.getString(0));
                vectors.add(v);
            }
        }
        if (vectors.isEmpty()) {
            throw new RadioException("No row of " + table + " has a usable summary (" + noSummary
                    + " error or null rows, "
                    + unusable + " all-zero or non-finite, " + other + " made with other settings): nothing to index. "
                    + "Check --table.");
        }
        return new Rows(paths, vectors, vectors.get(0).length, noSummary, unusable, other);
    }

    /** The summary as a unit vector, or null when it is all zeros, not finite or holds a null. */
    static float[] unit(List<Object> s) {
        float[] v = new float[s.size()];
        double norm = 0;
        for (int i = 0; i < v.length; i++) {
            Object x = s.get(i);
            if (x == null) {
                return null;
            }
            v[i] = ((Number) x).floatValue();
            norm += (double) v[i] * v[i];
        }
        norm = Math.sqrt(norm);
        if (norm == 0 || !Double.isFinite(norm)) {
            return null;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
        return v;
    }
}
