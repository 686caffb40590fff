package ai.radiospark.jobs;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code radio dedup}: semantic deduplication of an embedding table ({@link DedupJob}) into a Delta
 * table of {@code path, cluster, duplicate_of, cosine, keep}, with a sweep of how many images each
 * threshold would remove.
 *
 * <pre>
 * radio dedup --table ./radio-output/embeddings --output ./radio-output/dedup --eps 0.05
 * </pre>
 */
@Command(
        name = "dedup",
        mixinStandardHelpOptions = true,
        description = "Find near-duplicate images of an embedding table: k-means clusters of the normalised "
                + "summaries, then each image's most similar earlier image of its cluster (ordered by distance to the "
                + "centroid). Writes path, cluster, duplicate_of, cosine and keep to a Delta table and prints how many "
                + "images eps 0.01 to 0.10 would remove.")
public final class DedupCommand implements Callable<Integer> {
    @Option(
            names = "--table",
            required = true,
            paramLabel = "PATH|TABLE",
            description = "The embedding table (radio extract's).")
    String table;

    @Option(
            names = "--output",
            required = true,
            paramLabel = "PATH|TABLE",
            description = "The Delta table to write (replaced if it holds an earlier result).")
    String output;

    @Option(
            names = "--eps",
            defaultValue = "0.05",
            description = "An image is a duplicate when its cosine to an earlier image is at least 1 - eps; keep is "
                    + "false for duplicates (default ${DEFAULT-VALUE}).")
    double eps;

    @Option(
            names = "--clusters",
            defaultValue = "0",
            description = "k-means clusters; 0 (default): about sqrt(rows / 2), at most 1000.")
    int clusters;

    @Option(
            names = "--clusters-per-image",
            defaultValue = "2",
            paramLabel = "N",
            description = "Each image is compared within its N nearest clusters, so that near-duplicates on either "
                    + "side of a cluster boundary still meet; 1: its own cluster only (default ${DEFAULT-VALUE}).")
    int clustersPerImage;

    @Option(
            names = "--block-size",
            defaultValue = "1024",
            description = "Rows per block of the pairwise cosines: a cluster larger than this is compared block "
                    + "against block, never held whole (default ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--seed", defaultValue = "1", description = "k-means seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--master", description = "Spark master; default: spark-submit's, or local[*] outside it.")
    String master;

    PrintStream out = System.out;

    /**
     * The options, checked before Spark starts.
     *
     * @throws OptionException naming the option (exit code 2)
     */
    DedupJob.Options options() {
        OptionException.require(
                eps >= 0 && eps < 1, "--eps", eps, "Use a number from 0 to below 1, e.g. 0.05 (cosine >= 0.95).");
        OptionException.require(clusters >= 0, "--clusters", clusters, "Use 0 (chosen from the rows) or a count.");
        OptionException.require(
                clustersPerImage >= 1,
                "--clusters-per-image",
                clustersPerImage,
                "Use 1 (its own cluster only) or more, e.g. 2.");
        OptionException.require(blockSize >= 2, "--block-size", blockSize, "Use at least 2 rows per block, e.g. 1024.");
        Path in = LocalPaths.localPath(table);
        Path to = LocalPaths.localPath(output);
        OptionException.require(
                in == null || !in.normalize().equals(to == null ? null : to.normalize()),
                "--output",
                output,
                "It is the --table itself. Write the result to another table.");
        LocalPaths.checkTable("--table", table);
        LocalPaths.checkWritable("--output", output);
        return new DedupJob.Options(table, output, eps, clusters, clustersPerImage, blockSize, seed);
    }

    @Override
    public Integer call() {
        DedupJob.Options o = options();
        SparkSession spark = JobSpark.session("radio dedup", master);
        long start = System.nanoTime();
        DedupJob.Summary s = new DedupJob(spark, o).run();
        out.printf(
                Locale.ROOT,
                "radio dedup: %,d images of %s in %,d %s, done in %.1f s%n",
                s.vectors(),
                o.table(),
                s.clusters(),
                s.clusters() == 1 ? "cluster" : "clusters",
                (System.nanoTime() - start) / 1e9);
        out.printf(
                Locale.ROOT,
                "  compared %,d of all %,d pairs (%s), in blocks of at most %,d rows%n",
                s.pairsCompared(),
                s.pairsAll(),
                percent(s.pairsCompared(), s.pairsAll()),
                s.largestBlock());
        if (s.noSummary() + s.unusable() > 0) {
            out.printf(
                    Locale.ROOT,
                    "  skipped %,d rows: %,d without a summary (error rows), %,d unusable (all zeros, not finite or a null element)%n",
                    s.noSummary() + s.unusable(),
                    s.noSummary(),
                    s.unusable());
        }
        out.println("  eps   cosine >=  would be removed");
        for (int i = 0; i < s.removed().length; i++) {
            double e = (i + 1) / 100.0;
            out.printf(Locale.ROOT, "  %.2f  %.2f       %,d%n", e, DedupJob.threshold(e), s.removed()[i]);
        }
        out.printf(
                Locale.ROOT,
                "  --eps %s: %,d duplicates (keep = false), %,d kept; table %s, version %d%n",
                String.valueOf(o.eps()),
                s.duplicates(),
                s.vectors() - s.duplicates(),
                o.output(),
                s.tableVersion());
        out.flush();
        return 0;
    }

    /** {@code part} of {@code whole} as a percentage with 2 significant digits at least, e.g. 1.3% or 0.042%. */
    static String percent(long part, long whole) {
        if (whole == 0) {
            return "100%";
        }
        double p = 100.0 * part / whole;
        return new java.math.BigDecimal(p)
                        .round(new java.math.MathContext(2))
                        .stripTrailingZeros()
                        .toPlainString() + "%";
    }
}
