package ai.radiospark.jobs;

import ai.radiospark.bench.BenchFigures;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.lucene.codecs.hnsw.DefaultFlatVectorScorer;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopKnnCollector;
import org.apache.lucene.util.hnsw.HnswGraphBuilder;
import org.apache.lucene.util.hnsw.HnswGraphSearcher;
import org.apache.lucene.util.hnsw.OnHeapHnswGraph;
import org.apache.lucene.util.hnsw.RandomAccessVectorValues;
import org.apache.lucene.util.hnsw.RandomVectorScorer;
import org.apache.lucene.util.hnsw.RandomVectorScorerSupplier;

/**
 * The index engines compared on the same synthetic data ({@link IndexBench}'s generators):
 * jvector as {@code radio index} builds it ({@link VectorIndex}, with settings to try) against
 * Lucene's HNSW (lucene-core 9.12, a test-scoped dependency: not in the jars), driven directly
 * through {@code HnswGraphBuilder} and {@code HnswGraphSearcher} over float arrays (Lucene's codec
 * caps fields at 1,024 dimensions; its graph code does not). Prints one JSON object: the data's
 * neighbour contrast, then per engine recall@10 against the exact scan, the median single-thread
 * query latency, the build's wall and CPU seconds and the bytes a vector.
 *
 * <pre>
 * mvn -B -ntp -q -pl jobs -am test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=ai.radiospark.jobs.AnnCompare \
 *     -Dexec.args="data=structured vectors=100000 queries=200 engines=jvector,lucene"
 * </pre>
 *
 * Arguments (key=value): {@code data} structured or isotropic; {@code vectors}; {@code dimension}
 * (2560); {@code queries} (200); {@code engines}, a comma list of {@code jvector[:degree:beam:alpha
 * :dimsPerSubspace:pq|exact:rerank]} and {@code lucene[:m:beam:efSearch]}.
 */
public final class AnnCompare {
    private AnnCompare() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("data", "structured");
        a.put("vectors", "20000");
        a.put("dimension", "2560");
        a.put("queries", "200");
        a.put("engines", "jvector,lucene");
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 0 || !a.containsKey(arg.substring(0, eq))) {
                throw new IllegalArgumentException(
                        "Unknown argument " + arg + "; expected key=value with keys " + a.keySet());
            }
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        int n = Integer.parseInt(a.get("vectors"));
        int dim = Integer.parseInt(a.get("dimension"));
        int nq = Integer.parseInt(a.get("queries"));
        IndexBench.Data kind = IndexBench.Data.valueOf(a.get("data").toUpperCase(Locale.ROOT));
        int clusters = Math.max(1, Math.min(400, n / 250));
        IndexBench.Generator gen = kind.generator(clusters, dim, 7);
        List<float[]> data = gen.vectors(1, n);
        List<float[]> qs = gen.vectors(2, nq);
        ObjectMapper json = new ObjectMapper();
        ObjectNode report = json.createObjectNode();
        report.put("data", kind.name().toLowerCase(Locale.ROOT))
                .put("vectors", n)
                .put("dimension", dim)
                .put("clusters", clusters)
                .put("queries", nq);
        int[] ranks = {1, 10, 100, 1000};
        double[] contrast = IndexBench.neighbourCosines(data, qs.subList(0, Math.min(20, nq)), ranks);
        ObjectNode c = report.putObject("neighbour_cosine");
        for (int k = 0; k < ranks.length; k++) {
            c.put(Integer.toString(ranks[k]), BenchFigures.round(contrast[k], 4));
        }
        List<int[]> exact = IntStream.range(0, nq)
                .parallel()
                .mapToObj(i -> IndexBench.exactTop(data, qs.get(i), 10))
                .toList();
        ArrayNode results = report.putArray("engines");
        System.err.println(json.writeValueAsString(report));
        for (String engine : a.get("engines").split(",")) {
            if (engine.isEmpty()) {
                continue;
            }
            String[] p = engine.split(":");
            ObjectNode r = results.addObject().put("engine", engine);
            if (p[0].equals("jvector")) {
                jvector(data, qs, exact, dim, p, r);
            } else if (p[0].equals("lucene")) {
                lucene(data, qs, exact, dim, p, r);
            } else {
                throw new IllegalArgumentException("Unknown engine " + engine + "; use jvector or lucene");
            }
            System.err.println(json.writeValueAsString(r));
        }
        System.out.println(json.writeValueAsString(report));
    }

    private static int intAt(String[] p, int i, int dflt) {
        return p.length > i ? Integer.parseInt(p[i]) : dflt;
    }

    static void jvector(List<float[]> data, List<float[]> qs, List<int[]> exact, int dim, String[] p, ObjectNode r)
            throws IOException {
        VectorIndex.Settings d = VectorIndex.DEFAULTS;
        VectorIndex.Settings s = new VectorIndex.Settings(
                intAt(p, 1, d.degree()),
                intAt(p, 2, d.beamWidth()),
                p.length > 3 ? Float.parseFloat(p[3]) : d.alpha(),
                intAt(p, 4, d.dimsPerSubspace()),
                p.length > 5 ? p[5].equals("exact") : d.exactBuild());
        int rerank = intAt(p, 6, VectorIndex.DEFAULT_RERANK);
        Path dir = Files.createTempDirectory("ann-compare");
        try {
            Path graph = dir.resolve("graph.jvector");
            Path pq = dir.resolve("pq.jvector");
            long b0 = System.nanoTime();
            long c0 = IndexBench.processCpuNanos();
            VectorIndex.Built built = VectorIndex.build(data, dim, graph, pq, s);
            r.put("build_s", BenchFigures.round((System.nanoTime() - b0) / 1e9, 1))
                    .put("build_cpu_s", BenchFigures.round((IndexBench.processCpuNanos() - c0) / 1e9, 1))
                    .put("build_graph_s", BenchFigures.round(built.graphS(), 1));
            long bytes = Files.size(graph) + (built.quantised() ? Files.size(pq) : 0);
            r.put("bytes_per_vector", BenchFigures.round((double) bytes / data.size(), 1))
                    .put("memory_bytes_per_vector", built.quantised() ? VectorIndex.subspaces(dim, s) : 4 * dim);
            try (VectorIndex ix = VectorIndex.open(graph, built.quantised() ? pq : null)) {
                for (int depth : rerank > 0 ? new int[] {rerank} : new int[] {100, 200, 500, 1000, 2000}) {
                    measure(
                            qs,
                            exact,
                            r.putObject("rerank_" + depth),
                            q -> ix.search(q, 10, depth).stream()
                                    .mapToInt(VectorIndex.Hit::ordinal)
                                    .toArray());
                }
            }
            if (rerank == 0 && built.quantised()) {
                // The same graph searched on the exact vectors of the graph file (no codes), as Lucene searches.
                try (VectorIndex ix = VectorIndex.open(graph, null)) {
                    for (int depth : new int[] {100, 200, 500}) {
                        measure(
                                qs,
                                exact,
                                r.putObject("exact_search_" + depth),
                                q -> ix.search(q, 10, depth).stream()
                                        .mapToInt(VectorIndex.Hit::ordinal)
                                        .toArray());
                    }
                }
            }
        } finally {
            delete(dir);
        }
    }

    static void lucene(List<float[]> data, List<float[]> qs, List<int[]> exact, int dim, String[] p, ObjectNode r)
            throws IOException {
        int m = intAt(p, 1, 32);
        int beam = intAt(p, 2, 100);
        int ef = intAt(p, 3, 0);
        RandomAccessVectorValues.Floats values = RandomAccessVectorValues.fromFloats(data, dim);
        RandomVectorScorerSupplier scorers = DefaultFlatVectorScorer.INSTANCE.getRandomVectorScorerSupplier(
                VectorSimilarityFunction.DOT_PRODUCT, values);
        long b0 = System.nanoTime();
        long c0 = IndexBench.processCpuNanos();
        HnswGraphBuilder builder = HnswGraphBuilder.create(scorers, m, beam, 42);
        OnHeapHnswGraph graph = builder.build(data.size());
        r.put("build_s", BenchFigures.round((System.nanoTime() - b0) / 1e9, 1))
                .put("build_cpu_s", BenchFigures.round((IndexBench.processCpuNanos() - c0) / 1e9, 1));
        // The float vectors (Lucene's flat format) plus the graph as Lucene holds it on the heap.
        r.put("bytes_per_vector", BenchFigures.round(4.0 * dim + (double) graph.ramBytesUsed() / data.size(), 1))
                .put("memory_bytes_per_vector", 4 * dim);
        for (int depth : ef > 0 ? new int[] {ef} : new int[] {100, 200, 500}) {
            measure(qs, exact, r.putObject("ef_" + depth), q -> {
                RandomVectorScorer scorer = DefaultFlatVectorScorer.INSTANCE.getRandomVectorScorer(
                        VectorSimilarityFunction.DOT_PRODUCT, values, q);
                TopKnnCollector top = new TopKnnCollector(depth, Integer.MAX_VALUE);
                HnswGraphSearcher.search(scorer, top, graph, null);
                ScoreDoc[] docs = top.topDocs().scoreDocs;
                return Arrays.stream(docs).limit(10).mapToInt(sd -> sd.doc).toArray();
            });
        }
    }

    /** One query's answer: the ordinals of its 10 nearest, best first. */
    interface Search {
        int[] top10(float[] q) throws IOException;
    }

    private static void measure(List<float[]> qs, List<int[]> exact, ObjectNode r, Search search) throws IOException {
        for (int i = 0; i < Math.min(20, qs.size()); i++) {
            search.top10(qs.get(i)); // warm-up
        }
        List<int[]> found = new ArrayList<>();
        double[] ms = new double[qs.size()];
        double[] cpuMs = new double[qs.size()];
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < qs.size(); i++) {
            long t0 = System.nanoTime();
            long u0 = threads.getCurrentThreadCpuTime();
            found.add(search.top10(qs.get(i)));
            ms[i] = (System.nanoTime() - t0) / 1e6;
            cpuMs[i] = (threads.getCurrentThreadCpuTime() - u0) / 1e6;
        }
        Arrays.sort(ms);
        Arrays.sort(cpuMs);
        int lost = 0; // queries that found fewer than half of their 10 nearest: the search went astray
        for (int i = 0; i < qs.size(); i++) {
            if (IndexBench.recall(List.of(exact.get(i)), List.of(found.get(i))) < 0.5) {
                lost++;
            }
        }
        r.put("recall_at_10", BenchFigures.round(IndexBench.recall(exact, found), 4))
                .put("queries_below_half", lost)
                .put("query_ms_p50", BenchFigures.round(ms[ms.length / 2], 3))
                .put("query_ms_p90", BenchFigures.round(ms[(int) (ms.length * 0.9)], 3))
                // CPU time of the searching thread: the latency on an idle core, whatever the machine's load.
                .put("query_cpu_ms_p50", BenchFigures.round(cpuMs[cpuMs.length / 2], 3));
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> w = Files.walk(dir)) {
            w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
