package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * {@code radio bench --only index}: the approximate index ({@link VectorIndex}) on synthetic
 * embeddings, {@link Structured} as image embeddings are assumed to be (the default) or {@link
 * Clustered} with isotropic noise (the worst case, {@code --index-data isotropic}); either way
 * {@code clusters} clusters in which two images have a cosine of about 0.70 to 0.89. Recall@10 is
 * measured against the exact scan for held-out queries drawn the same way; the query latency is
 * the median of single-threaded searches (quantised graph search, then the exact rerank). Figures
 * go under {@code index.*}.
 */
final class IndexBench {
    /** The figures' key of recall, and the goals the issue sets. */
    static final double GOAL_RECALL = 0.95;

    static final double GOAL_QUERY_MS = 10;

    private final PrintWriter out;
    private final int vectors;
    private final int dim;
    private final int queries;
    private final int clusters;
    private final int rerank;
    private final Data kind;

    IndexBench(PrintWriter out, int vectors, int dim, int queries, int clusters, int rerank, Data data) {
        this.kind = data;
        this.out = out;
        this.vectors = vectors;
        this.dim = dim;
        this.queries = queries;
        this.clusters = clusters;
        this.rerank = rerank;
    }

    /** A seeded synthetic data set: vector {@code i} of stream {@code seed}, a unit vector. */
    interface Generator {
        float[] vector(long seed, int i);

        /** The cluster vector {@code i} of stream {@code seed} belongs to (its seed's first draw). */
        int cluster(long seed, int i);

        default List<float[]> vectors(long seed, int n) {
            return Arrays.asList(IntStream.range(0, n)
                    .parallel()
                    .mapToObj(i -> vector(seed, i))
                    .toArray(float[][]::new));
        }
    }

    /** The data sets of {@code --index-data}. */
    enum Data {
        /** Clusters, sub-clusters and members varying in a few directions each: {@link Structured}. */
        STRUCTURED,
        /** Members of a cluster as isotropic noise over every dimension, the worst case: {@link Clustered}. */
        ISOTROPIC;

        Generator generator(int clusters, int dim, long seed) {
            return this == STRUCTURED ? new Structured(clusters, dim, seed) : new Clustered(clusters, dim, seed);
        }
    }

    /**
     * The worst case ({@code --index-data isotropic}): members are a unit centroid plus isotropic
     * gaussian noise over all the dimensions, so two members' cosine is about 0.70 to 0.89 but all
     * members of a cluster are nearly equidistant from a query (1st and 100th neighbour within
     * about 0.01 of cosine): which ten are nearest is decided by tiny noise.
     */
    static final class Clustered implements Generator {
        // Seeds as the figures before the structured set (consecutive seeds: use a cluster count that is not a
        // power of two, as the benchmark's n / 250 mostly is, or the first draws correlate).
        final float[][] centroids;
        final double[] spread;
        final int dim;

        Clustered(int clusters, int dim, long seed) {
            this.dim = dim;
            Random r = new Random(seed);
            centroids = new float[clusters][];
            spread = new double[clusters];
            for (int c = 0; c < clusters; c++) {
                float[] v = new float[dim];
                for (int i = 0; i < dim; i++) {
                    v[i] = (float) r.nextGaussian();
                }
                centroids[c] = unit(v);
                // Noise of norm w around a unit centroid: two members' cosine is about 1 / (1 + w^2), 0.70 to 0.89.
                spread[c] = 0.35 + 0.3 * r.nextDouble();
            }
        }

        @Override
        public int cluster(long seed, int i) {
            return new Random(seed * 1_000_003L + i).nextInt(centroids.length);
        }

        /** Vector {@code i} of stream {@code seed}: a member of a cluster chosen by its seed. */
        @Override
        public float[] vector(long seed, int i) {
            Random r = new Random(seed * 1_000_003L + i);
            int c = r.nextInt(centroids.length);
            double sigma = spread[c] / Math.sqrt(dim);
            float[] v = new float[dim];
            float[] m = centroids[c];
            for (int d = 0; d < dim; d++) {
                v[d] = (float) (m[d] + sigma * r.nextGaussian());
            }
            return unit(v);
        }
    }

    /**
     * The default data set, structured as image embeddings are (low intrinsic dimension, structure
     * at several scales): unit cluster centroids sharing a common direction (two unrelated images:
     * cosine about 0.2); in each cluster {@value #SUBCLUSTERS} sub-clusters; the variation of a
     * cluster (sub-cluster centres and members alike) lies in {@value #RANK} directions of its own
     * with a decaying spectrum (variance of the j-th direction proportional to 1 / j), plus a small
     * isotropic noise over all the dimensions. The offset from the centroid has norm w (0.35 to
     * 0.65 by cluster), so two members of a cluster have a cosine of about 0.70 to 0.89 (higher
     * within a sub-cluster), as with the isotropic set, but a query's neighbours are no longer
     * nearly equidistant.
     */
    static final class Structured implements Generator {
        static final int RANK = 32;
        static final int SUBCLUSTERS = 8;
        /** Shares of the offset's variance: sub-cluster centre, member within it, isotropic noise. */
        static final double SUB_SHARE = 0.5;

        static final double MEMBER_SHARE = 0.4;
        static final double NOISE_SHARE = 0.1;
        private static final int POOL = 512;

        final int dim;
        final float[][] centroids;
        final double[] spread;
        /** The unit directions the clusters vary in: cluster c uses {@code pool[dirs[c][j]]}. */
        private final float[][] pool;

        private final int[][] dirs;
        /** Sub-cluster centres' coefficients on the cluster's directions: {@code [c][s][j]}. */
        private final double[][][] sub;
        /** The spectrum: the share of the variance of direction j (sums to 1). */
        private final double[] spectrum = new double[RANK];

        Structured(int clusters, int dim, long seed) {
            this.dim = dim;
            Random r = new Random(seed);
            double sum = 0;
            for (int j = 0; j < RANK; j++) {
                spectrum[j] = 1.0 / (j + 1);
                sum += spectrum[j];
            }
            for (int j = 0; j < RANK; j++) {
                spectrum[j] /= sum;
            }
            pool = new float[POOL][];
            for (int p = 0; p < POOL; p++) {
                pool[p] = unit(gaussian(r, dim));
            }
            float[] common = unit(gaussian(r, dim));
            centroids = new float[clusters][];
            spread = new double[clusters];
            dirs = new int[clusters][RANK];
            sub = new double[clusters][SUBCLUSTERS][RANK];
            for (int c = 0; c < clusters; c++) {
                float[] v = unit(gaussian(r, dim));
                for (int d = 0; d < dim; d++) {
                    v[d] += 0.5f * common[d];
                }
                centroids[c] = unit(v);
                spread[c] = 0.35 + 0.3 * r.nextDouble();
                for (int j = 0; j < RANK; j++) {
                    dirs[c][j] = r.nextInt(POOL);
                }
                double w2 = spread[c] * spread[c];
                for (int s = 0; s < SUBCLUSTERS; s++) {
                    for (int j = 0; j < RANK; j++) {
                        sub[c][s][j] = r.nextGaussian() * Math.sqrt(SUB_SHARE * w2 * spectrum[j]);
                    }
                }
            }
        }

        @Override
        public int cluster(long seed, int i) {
            return new Random(mix(seed * 1_000_003L + i)).nextInt(centroids.length);
        }

        /** Vector {@code i} of stream {@code seed}: a member of a sub-cluster chosen by its seed. */
        @Override
        public float[] vector(long seed, int i) {
            Random r = new Random(mix(seed * 1_000_003L + i));
            int c = r.nextInt(centroids.length);
            int s = r.nextInt(SUBCLUSTERS);
            double w2 = spread[c] * spread[c];
            float[] v = centroids[c].clone();
            for (int j = 0; j < RANK; j++) {
                double a = sub[c][s][j] + r.nextGaussian() * Math.sqrt(MEMBER_SHARE * w2 * spectrum[j]);
                float[] u = pool[dirs[c][j]];
                for (int d = 0; d < dim; d++) {
                    v[d] += (float) (a * u[d]);
                }
            }
            double sigma = Math.sqrt(NOISE_SHARE * w2 / dim);
            for (int d = 0; d < dim; d++) {
                v[d] += (float) (sigma * r.nextGaussian());
            }
            return unit(v);
        }

        /**
         * SplitMix64's finaliser: java.util.Random's first draws from consecutive seeds are
         * correlated (with a power-of-two bound, vectors i and i + 1 would mostly share a cluster).
         */
        static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }

        private static float[] gaussian(Random r, int dim) {
            float[] v = new float[dim];
            for (int d = 0; d < dim; d++) {
                v[d] = (float) r.nextGaussian();
            }
            return v;
        }
    }

    /**
     * The cosine of a query's exact neighbours at the given ranks (1-based), averaged over the
     * queries: how far apart the 1st and the 10th, 100th, 1000th nearest are (the contrast).
     */
    static double[] neighbourCosines(List<float[]> data, List<float[]> queries, int... ranks) {
        double[] out = new double[ranks.length];
        for (float[] q : queries) {
            double[] s = new double[data.size()];
            for (int j = 0; j < s.length; j++) {
                s[j] = dot(q, data.get(j));
            }
            Arrays.sort(s);
            for (int k = 0; k < ranks.length; k++) {
                out[k] += s[s.length - Math.min(ranks[k], s.length)] / queries.size();
            }
        }
        return out;
    }

    static double dot(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d += (double) a[i] * b[i];
        }
        return d;
    }

    static float[] unit(float[] v) {
        double n = 0;
        for (float x : v) {
            n += (double) x * x;
        }
        double inv = 1 / Math.sqrt(n);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * inv);
        }
        return v;
    }

    /** The exact top-{@code k} ordinals of {@code q} over {@code data}, best first (ties by ordinal). */
    static int[] exactTop(List<float[]> data, float[] q, int k) {
        double[] s = new double[data.size()];
        for (int j = 0; j < s.length; j++) {
            float[] v = data.get(j);
            double d = 0;
            for (int i = 0; i < q.length; i++) {
                d += (double) q[i] * v[i];
            }
            s[j] = d;
        }
        return IntStream.range(0, s.length)
                .boxed()
                .sorted(Comparator.<Integer>comparingDouble(j -> -s[j]).thenComparingInt(j -> j))
                .limit(k)
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** Recall@k of the index's answers against the exact ones, averaged over the queries. */
    static double recall(List<int[]> exact, List<int[]> approx) {
        double sum = 0;
        for (int i = 0; i < exact.size(); i++) {
            int[] e = exact.get(i);
            int found = 0;
            for (int a : approx.get(i)) {
                for (int x : e) {
                    if (x == a) {
                        found++;
                        break;
                    }
                }
            }
            sum += (double) found / e.length;
        }
        return sum / exact.size();
    }

    void run(ObjectNode report) throws IOException {
        ObjectNode r = report.putObject("index");
        out.printf(
                "index: %,d synthetic %s vectors of %d floats in %d clusters, %d queries, recall@10 against the "
                        + "exact scan, rerank %d%n",
                vectors, kind.name().toLowerCase(java.util.Locale.ROOT), dim, clusters, queries, rerank);
        out.flush();
        Generator gen = kind.generator(clusters, dim, 7);
        long t0 = System.nanoTime();
        List<float[]> data = gen.vectors(1, vectors);
        List<float[]> qs = gen.vectors(2, queries);
        double genS = (System.nanoTime() - t0) / 1e9;
        Path dir = Files.createTempDirectory("radio-bench-index");
        try {
            Path graph = dir.resolve("graph.jvector");
            Path pq = dir.resolve("pq.jvector");
            long b0 = System.nanoTime();
            long c0 = processCpuNanos();
            VectorIndex.Built built = VectorIndex.build(data, dim, graph, pq);
            boolean quantised = built.quantised();
            double buildS = (System.nanoTime() - b0) / 1e9;
            double buildCpuS = (processCpuNanos() - c0) / 1e9;
            long bytes = Files.size(graph) + (quantised ? Files.size(pq) : 0);
            out.printf(
                    "index: built in %.1f s (%s: codebooks %.1f s, codes %.1f s, graph %.1f s, write %.1f s)%n",
                    buildS,
                    quantised ? "product-quantised" : "exact",
                    built.trainS(),
                    built.encodeS(),
                    built.graphS(),
                    built.writeS());
            out.flush();
            long e0 = System.nanoTime();
            List<int[]> exact = IntStream.range(0, queries)
                    .parallel()
                    .mapToObj(i -> exactTop(data, qs.get(i), 10))
                    .toList();
            double exactMs = (System.nanoTime() - e0) / 1e6 / queries * Math.min(2, availableCores());
            List<int[]> approx = new ArrayList<>();
            double[] ms = new double[queries];
            double[] cpuMs = new double[queries];
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            ObjectNode sweep = r.putObject("by_rerank");
            try (VectorIndex ix = VectorIndex.open(graph, quantised ? pq : null)) {
                for (int i = 0; i < Math.min(20, queries); i++) {
                    ix.search(qs.get(i), 10, rerank); // warm-up: JIT and page cache
                }
                // Other rerank depths first (recall and median latency each), then the figures' own.
                for (int depth : new int[] {100, 200, 500, 1000, 2000}) {
                    if (depth == rerank || depth > vectors) {
                        continue;
                    }
                    List<int[]> found = new ArrayList<>();
                    double[] t = new double[queries];
                    for (int i = 0; i < queries; i++) {
                        long s0 = System.nanoTime();
                        found.add(ix.search(qs.get(i), 10, depth).stream()
                                .mapToInt(VectorIndex.Hit::ordinal)
                                .toArray());
                        t[i] = (System.nanoTime() - s0) / 1e6;
                    }
                    Arrays.sort(t);
                    sweep.putObject(Integer.toString(depth))
                            .put("recall_at_10", BenchFigures.round(recall(exact, found), 4))
                            .put("query_ms_p50", BenchFigures.round(t[queries / 2], 3));
                }
                for (int i = 0; i < queries; i++) {
                    long s0 = System.nanoTime();
                    long u0 = threads.getCurrentThreadCpuTime();
                    List<VectorIndex.Hit> hits = ix.search(qs.get(i), 10, rerank);
                    ms[i] = (System.nanoTime() - s0) / 1e6;
                    cpuMs[i] = (threads.getCurrentThreadCpuTime() - u0) / 1e6;
                    approx.add(hits.stream().mapToInt(VectorIndex.Hit::ordinal).toArray());
                }
            }
            double recall = recall(exact, approx);
            Arrays.sort(ms);
            Arrays.sort(cpuMs);
            r.put("data", kind.name().toLowerCase(java.util.Locale.ROOT))
                    .put("vectors", vectors)
                    .put("dimension", dim)
                    .put("clusters", clusters)
                    .put("queries", queries)
                    .put("rerank", rerank)
                    .put("product_quantised", quantised)
                    .put("pq_bytes_per_vector", quantised ? VectorIndex.subspaces(dim) : 0)
                    .put("recall_at_10", BenchFigures.round(recall, 4))
                    .put("query_ms_p50", BenchFigures.round(ms[queries / 2], 3))
                    .put("query_ms_p90", BenchFigures.round(ms[(int) (queries * 0.9)], 3))
                    // CPU time of the searching thread: what the latency is on an idle core, under other load.
                    .put("query_cpu_ms_p50", BenchFigures.round(cpuMs[queries / 2], 3))
                    .put("exact_scan_ms_per_query", BenchFigures.round(exactMs, 1))
                    .put("build_s", BenchFigures.round(buildS, 1))
                    .put("build_cpu_s", BenchFigures.round(buildCpuS, 1))
                    .put("build_codebooks_s", BenchFigures.round(built.trainS(), 1))
                    .put("build_codes_s", BenchFigures.round(built.encodeS(), 1))
                    .put("build_graph_s", BenchFigures.round(built.graphS(), 1))
                    .put("build_write_s", BenchFigures.round(built.writeS(), 1))
                    .put("generate_s", BenchFigures.round(genS, 1))
                    .put("bytes_per_vector", BenchFigures.round((double) bytes / vectors, 1))
                    .put("raw_bytes_per_vector", 4L * dim)
                    .put("goal_recall_at_10", GOAL_RECALL)
                    .put("goal_query_ms_p50", GOAL_QUERY_MS);
        } finally {
            try (Stream<Path> w = Files.walk(dir)) {
                w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** This process's CPU time (every thread), or 0 where the JVM does not tell it. */
    static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                        instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime()
                : 0;
    }

    private static int availableCores() {
        return Runtime.getRuntime().availableProcessors();
    }
}
