package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * {@code radio bench --only dedup}: the quality and cost of {@link DedupJob} (issue 18) on synthetic
 * embeddings written as a Delta table, run in this JVM's local Spark.
 *
 * <p>The corpus ({@link Corpus}): {@code n} vectors, 80% "originals" drawn around topic centres as
 * real embeddings are (a shared direction, topics of Zipf-like sizes, each spread along a few
 * factor directions plus isotropic noise: cosine about 0.5 within a topic, 0.1 across), 10% planted
 * near-duplicates (cosine 0.97-0.995 to their original, one per original, every eighth original)
 * and 10% distractors (cosine 0.90-0.95 to an original drawn at random). Summaries are scaled at
 * random, as real ones are not normalised. Fewer topics than k-means clusters: k-means cuts
 * through topics, so some planted pairs straddle a cluster boundary.
 *
 * <p>Precision and recall are over pairs: the found pairs are the rows whose {@code cosine} is at
 * least {@code 1 - eps} with their {@code duplicate_of}; the true pairs are the planted ones. At
 * eps 0.04 (cosine 0.96) the planted pairs (at least 0.97) and the distractors (at most 0.95) are
 * apart.
 */
final class DedupBench {
    /** The threshold of the figures: cosine >= 0.96, between the distractors (<= 0.95) and the copies (>= 0.97). */
    static final double EPS = 0.04;

    private final SparkSession spark;
    private final PrintWriter log;
    private final Corpus corpus;
    private final int clustersPerImage;

    DedupBench(SparkSession spark, PrintWriter log, Corpus corpus, int clustersPerImage) {
        this.spark = spark;
        this.log = log;
        this.corpus = corpus;
        this.clustersPerImage = clustersPerImage;
    }

    /** Writes the corpus, runs the dedup job on it and puts {@code dedup} into {@code report}. */
    void run(ObjectNode report) throws IOException {
        Path root = Files.createTempDirectory("radio-bench-dedup");
        try {
            String table = root.resolve("embeddings").toString();
            String output = root.resolve("dedup").toString();
            log.printf(
                    "dedup: %,d synthetic %d-float summaries (%,d originals in %d topics, %,d planted near-duplicates "
                            + "at cosine 0.97-0.995, %,d distractors at 0.90-0.95), local[*], eps %s%n",
                    corpus.n(),
                    corpus.dim(),
                    corpus.originals(),
                    corpus.topics(),
                    corpus.planted(),
                    corpus.distractors(),
                    EPS);
            log.flush();
            long t0 = System.nanoTime();
            corpus.write(spark, table);
            double written = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            DedupJob.Summary s =
                    new DedupJob(spark, new DedupJob.Options(table, output, EPS, 0, clustersPerImage, 1024, 1)).run();
            double seconds = (System.nanoTime() - t1) / 1e9;
            Quality q = quality(output);
            ObjectNode d = report.putObject("dedup");
            d.put("vectors", corpus.n())
                    .put("dim", corpus.dim())
                    .put("topics", corpus.topics())
                    .put("planted", corpus.planted())
                    .put("distractors", corpus.distractors())
                    .put("eps", EPS)
                    .put("threshold", DedupJob.threshold(EPS))
                    .put("clusters", s.clusters())
                    .put("clusters_per_image", Math.min(s.clusters(), clustersPerImage))
                    .put("precision", BenchFigures.round(q.precision(), 4))
                    .put("recall", BenchFigures.round(q.recall(), 4))
                    .put("found", q.found())
                    .put("true_found", q.trueFound())
                    .put("planted_split_by_clusters", q.split())
                    .put("seconds", BenchFigures.round(seconds, 2))
                    .put("write_input_s", BenchFigures.round(written, 2))
                    .put("pairs_compared", s.pairsCompared())
                    .put("pairs_all", s.pairsAll())
                    .put("pairs_fraction", BenchFigures.round((double) s.pairsCompared() / s.pairsAll(), 5))
                    .put("largest_block", s.largestBlock())
                    .put("goal", 0.99);
        } finally {
            try (Stream<Path> w = Files.walk(root)) {
                w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** What was found against what was planted. */
    record Quality(long found, long trueFound, long planted, long split) {
        double precision() {
            return found == 0 ? 1 : (double) trueFound / found;
        }

        double recall() {
            return (double) trueFound / planted;
        }
    }

    /** Precision and recall of the result table at {@link #EPS}, over pairs. */
    private Quality quality(String output) {
        List<Row> rows = spark.read()
                .format("delta")
                .load(output)
                .select("path", "cluster", "duplicate_of", "cosine")
                .collectAsList();
        Set<String> truth = new HashSet<>();
        for (long c = 0; c < corpus.planted(); c++) {
            truth.add(
                    pair(Corpus.path(corpus.originals() + c), Corpus.path(corpus.originalOf(corpus.originals() + c))));
        }
        java.util.Map<String, Integer> cluster = new java.util.HashMap<>();
        long found = 0;
        long trueFound = 0;
        for (Row r : rows) {
            cluster.put(r.getString(0), r.getInt(1));
            if (!r.isNullAt(3) && r.getDouble(3) >= DedupJob.threshold(EPS)) {
                found++;
                if (truth.contains(pair(r.getString(0), r.getString(2)))) {
                    trueFound++;
                }
            }
        }
        long split = 0;
        for (long c = 0; c < corpus.planted(); c++) {
            Integer a = cluster.get(Corpus.path(corpus.originals() + c));
            Integer b = cluster.get(Corpus.path(corpus.originalOf(corpus.originals() + c)));
            if (a == null || !a.equals(b)) {
                split++;
            }
        }
        return new Quality(found, trueFound, corpus.planted(), split);
    }

    private static String pair(String a, String b) {
        return a.compareTo(b) < 0 ? a + "\n" + b : b + "\n" + a;
    }

    /**
     * The synthetic embeddings, each row a function of its id and the seed (made in the tasks, never
     * all on the driver): ids below {@link #originals()} are originals, then the planted copies, then
     * the distractors.
     */
    record Corpus(int n, int dim, long seed) implements Serializable {
        /** Factor directions per topic. */
        static final int FACTORS = 8;

        int planted() {
            return n / 10;
        }

        int distractors() {
            return n / 10;
        }

        int originals() {
            return n - planted() - distractors();
        }

        /** About one topic per 400 originals: fewer topics than the job's clusters (about sqrt(n / 2)). */
        int topics() {
            return Math.max(2, originals() / 400);
        }

        static String path(long id) {
            return String.format("file:/bench/img%07d.jpg", id);
        }

        /** The original of a planted copy or a distractor. */
        long originalOf(long id) {
            if (id < originals()) {
                return id;
            }
            if (id < originals() + planted()) {
                return (id - originals()) * originals() / planted();
            }
            return new SplittableRandom(seed * 31 + id).nextLong(originals());
        }

        /** The topics' centres and factor directions: {@code [topic][0]} the centre, {@code [topic][1..]} factors. */
        float[][][] topicVectors() {
            SplittableRandom r = new SplittableRandom(seed);
            double[] shared = unit(gaussian(r, dim));
            float[][][] t = new float[topics()][FACTORS + 1][];
            for (int i = 0; i < topics(); i++) {
                double[] c = unit(gaussian(r, dim));
                for (int d = 0; d < dim; d++) {
                    c[d] = 0.45 * shared[d] + 0.9 * c[d];
                }
                t[i][0] = floats(unit(c));
                for (int f = 1; f <= FACTORS; f++) {
                    t[i][f] = floats(unit(gaussian(r, dim)));
                }
            }
            return t;
        }

        /** Writes the corpus as a Delta table of {@code path, summary}. */
        void write(SparkSession spark, String table) {
            Broadcast<float[][][]> topics =
                    JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(topicVectors());
            Corpus c = this;
            int partitions = Math.max(4, n / 5000);
            JavaRDD<Row> rows = spark.range(0, n, 1, partitions)
                    .javaRDD()
                    .map(id -> RowFactory.create(path(id), c.summary(id, topics.value())));
            spark.createDataFrame(
                            rows,
                            new StructType()
                                    .add("path", DataTypes.StringType, false)
                                    .add("summary", DataTypes.createArrayType(DataTypes.FloatType, false)))
                    .write()
                    .format("delta")
                    .mode(SaveMode.Overwrite)
                    .save(table);
            topics.destroy();
        }

        /** The summary of row {@code id}, unnormalised (scaled by 0.5-3.5). */
        Float[] summary(long id, float[][][] topics) {
            SplittableRandom r = new SplittableRandom(seed * 1_000_003 + id);
            double[] v;
            if (id < originals()) {
                v = original(id, topics);
            } else {
                double cos =
                        id < originals() + planted() ? 0.97 + 0.025 * r.nextDouble() : 0.90 + 0.05 * r.nextDouble();
                v = at(original(originalOf(id), topics), cos, r);
            }
            double scale = 0.5 + 3 * r.nextDouble();
            Float[] f = new Float[dim];
            for (int i = 0; i < dim; i++) {
                f[i] = (float) (v[i] * scale);
            }
            return f;
        }

        /** An original: its topic (Zipf-like sizes) centre, plus factors and noise of the topic's spread; unit. */
        double[] original(long id, float[][][] topics) {
            SplittableRandom r = new SplittableRandom(seed * 7_919 + id);
            int t = zipf(r, topics.length);
            SplittableRandom spread = new SplittableRandom(seed + t);
            double noise = 0.45 + 0.3 * spread.nextDouble();
            double[] v = new double[dim];
            float[] centre = topics[t][0];
            for (int d = 0; d < dim; d++) {
                v[d] = centre[d];
            }
            for (int f = 1; f <= FACTORS; f++) {
                double z = r.nextGaussian() * 0.5 / f;
                float[] u = topics[t][f];
                for (int d = 0; d < dim; d++) {
                    v[d] += z * u[d];
                }
            }
            double[] e = unit(gaussian(r, dim));
            for (int d = 0; d < dim; d++) {
                v[d] += noise * e[d];
            }
            return unit(v);
        }

        /** A topic with probability proportional to 1 / (t + 10). */
        static int zipf(SplittableRandom r, int topics) {
            double total = 0;
            for (int t = 0; t < topics; t++) {
                total += 1.0 / (t + 10);
            }
            double u = r.nextDouble() * total;
            for (int t = 0; t < topics; t++) {
                u -= 1.0 / (t + 10);
                if (u < 0) {
                    return t;
                }
            }
            return topics - 1;
        }

        /** A unit vector at exactly cosine {@code cos} to the unit vector {@code o}. */
        static double[] at(double[] o, double cos, SplittableRandom r) {
            double[] u = gaussian(r, o.length);
            double dot = 0;
            for (int i = 0; i < o.length; i++) {
                dot += u[i] * o[i];
            }
            for (int i = 0; i < o.length; i++) {
                u[i] -= dot * o[i];
            }
            u = unit(u);
            double sin = Math.sqrt(1 - cos * cos);
            double[] v = new double[o.length];
            for (int i = 0; i < o.length; i++) {
                v[i] = cos * o[i] + sin * u[i];
            }
            return v;
        }

        static double[] gaussian(SplittableRandom r, int dim) {
            double[] v = new double[dim];
            for (int i = 0; i < dim; i++) {
                v[i] = r.nextGaussian();
            }
            return v;
        }

        static double[] unit(double[] v) {
            double s = 0;
            for (double x : v) {
                s += x * x;
            }
            double n = Math.sqrt(s);
            double[] u = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                u[i] = v[i] / n;
            }
            return u;
        }

        static float[] floats(double[] v) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            return f;
        }
    }
}
