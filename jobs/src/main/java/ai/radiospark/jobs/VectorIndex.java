package ai.radiospark.jobs;

import io.github.jbellis.jvector.disk.MappedChunkReader;
import io.github.jbellis.jvector.disk.ReaderSupplier;
import io.github.jbellis.jvector.disk.SimpleWriter;
import io.github.jbellis.jvector.graph.GraphIndexBuilder;
import io.github.jbellis.jvector.graph.GraphSearcher;
import io.github.jbellis.jvector.graph.ImmutableGraphIndex;
import io.github.jbellis.jvector.graph.ListRandomAccessVectorValues;
import io.github.jbellis.jvector.graph.RandomAccessVectorValues;
import io.github.jbellis.jvector.graph.SearchResult;
import io.github.jbellis.jvector.graph.disk.OnDiskGraphIndex;
import io.github.jbellis.jvector.graph.similarity.BuildScoreProvider;
import io.github.jbellis.jvector.graph.similarity.DefaultSearchScoreProvider;
import io.github.jbellis.jvector.graph.similarity.SearchScoreProvider;
import io.github.jbellis.jvector.quantization.PQVectors;
import io.github.jbellis.jvector.quantization.ProductQuantization;
import io.github.jbellis.jvector.util.Bits;
import io.github.jbellis.jvector.vector.VectorSimilarityFunction;
import io.github.jbellis.jvector.vector.VectorizationProvider;
import io.github.jbellis.jvector.vector.types.VectorFloat;
import io.github.jbellis.jvector.vector.types.VectorTypeSupport;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The approximate-nearest-neighbour index of {@code radio index} (Spark-free): a jvector graph
 * over L2-normalised vectors, searched by dot product (= cosine). The graph is built on exact
 * scores (on Java 17, where jvector has no SIMD, that is also cheaper than building on quantised
 * ones: 134 s of CPU against 213 s for 20,000 vectors of 2,560 floats). From {@value
 * #PQ_MIN_VECTORS} vectors on, it is searched with product-quantised codes ({@link #subspaces}
 * bytes a vector, held in memory), and the best {@code rerank} candidates are rescored with the
 * exact vectors stored in the graph file; smaller indices score exactly throughout. The cosines
 * returned are always exact (computed in double from the stored unit vectors).
 *
 * <pre>{@code
 * VectorIndex.build(unitVectors, dim, dir, "graph-7.jvector", "pq-7.jvector");
 * try (VectorIndex ix = VectorIndex.open(dir.resolve("graph-7.jvector"), dir.resolve("pq-7.jvector"))) {
 *     List<VectorIndex.Hit> top = ix.search(unitQuery, 10, 200);
 * }
 * }</pre>
 */
final class VectorIndex implements Closeable {
    /** From this many vectors on, the graph uses product quantisation (fewer: exact scores, no codebook to train). */
    static final int PQ_MIN_VECTORS = 1024;

    /**
     * How the graph is built: its degree, the build's beam width and alpha (edges kept), the
     * product quantisation's dimensions per subspace, and whether the graph is built on exact
     * scores (else on the quantised ones; the search uses the quantised codes either way).
     */
    record Settings(int degree, int beamWidth, float alpha, int dimsPerSubspace, boolean exactBuild) {}

    /** The settings of {@code radio index} (measured: docs/performance.md, "Approximate search"). */
    static final Settings DEFAULTS = new Settings(32, 100, 2.0f, 8, true);

    /** Vectors the product-quantisation codebooks are trained on at most (a seeded sample). */
    static final int PQ_TRAINING_VECTORS = 20_000;

    /** Candidates rescored with the exact vectors by default. */
    static final int DEFAULT_RERANK = 500;

    private static final VectorTypeSupport VTS =
            VectorizationProvider.getInstance().getVectorTypeSupport();
    private static final VectorSimilarityFunction DOT = VectorSimilarityFunction.DOT_PRODUCT;

    /** One neighbour: its ordinal and exact cosine. */
    record Hit(int ordinal, double cosine) {}

    private final ReaderSupplier graphFile;
    private final OnDiskGraphIndex graph;
    private final PQVectors pq;
    private final GraphSearcher searcher;

    private VectorIndex(ReaderSupplier graphFile, OnDiskGraphIndex graph, PQVectors pq) {
        this.graphFile = graphFile;
        this.graph = graph;
        this.pq = pq;
        this.searcher = new GraphSearcher(graph);
    }

    /** Product-quantisation subspaces for {@code dim} with the default settings. */
    static int subspaces(int dim) {
        return subspaces(dim, DEFAULTS);
    }

    /** Product-quantisation subspaces (bytes a vector) for {@code dim}. */
    static int subspaces(int dim, Settings settings) {
        return Math.max(1, dim / settings.dimsPerSubspace());
    }

    /**
     * Builds the index of {@code vectors} (unit vectors of {@code dim} floats; ordinal = list
     * position) into {@code graphPath}, and, from {@value #PQ_MIN_VECTORS} vectors on, the
     * quantised codes into {@code pqPath}.
     *
     * @return what was built, and how long each step took
     */
    static Built build(List<float[]> vectors, int dim, Path graphPath, Path pqPath) throws IOException {
        return build(vectors, dim, graphPath, pqPath, DEFAULTS);
    }

    /** {@link #build(List, int, Path, Path)} with the given settings. */
    static Built build(List<float[]> vectors, int dim, Path graphPath, Path pqPath, Settings settings)
            throws IOException {
        List<VectorFloat<?>> vs = new ArrayList<>(vectors.size());
        for (float[] v : vectors) {
            vs.add(VTS.createFloatVector(v));
        }
        RandomAccessVectorValues ravv = new ListRandomAccessVectorValues(vs, dim);
        boolean quantised = vectors.size() >= PQ_MIN_VECTORS;
        BuildScoreProvider scores;
        long t0 = System.nanoTime();
        long t1 = t0;
        long t2 = t0;
        if (quantised) {
            ProductQuantization codebooks =
                    ProductQuantization.compute(trainingSample(vs, dim), subspaces(dim, settings), 256, false);
            t1 = System.nanoTime();
            PQVectors codes = (PQVectors) codebooks.encodeAll(ravv);
            t2 = System.nanoTime();
            try (SimpleWriter w = new SimpleWriter(pqPath)) {
                codes.write(w, OnDiskGraphIndex.CURRENT_VERSION);
            }
            scores = settings.exactBuild()
                    ? BuildScoreProvider.randomAccessScoreProvider(ravv, DOT)
                    : BuildScoreProvider.pqBuildScoreProvider(DOT, codes);
        } else {
            scores = BuildScoreProvider.randomAccessScoreProvider(ravv, DOT);
        }
        long t3;
        try (GraphIndexBuilder builder = GraphIndexBuilder.builder(scores, dim, settings.degree())
                .withBeamWidth(settings.beamWidth())
                .withNeighborOverflow(1.2f)
                .withAlpha(settings.alpha())
                .build()) {
            ImmutableGraphIndex g = builder.build(ravv);
            // The exact vectors go inline in the graph file: the reranking reads them from there.
            t3 = System.nanoTime();
            OnDiskGraphIndex.write(g, ravv, graphPath);
        }
        long t4 = System.nanoTime();
        return new Built(quantised, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, (t4 - t3) / 1e9);
    }

    /** What {@link #build} made: product-quantised or exact, and the seconds of each step. */
    record Built(boolean quantised, double trainS, double encodeS, double graphS, double writeS) {}

    private static RandomAccessVectorValues trainingSample(List<VectorFloat<?>> vs, int dim) {
        if (vs.size() <= PQ_TRAINING_VECTORS) {
            return new ListRandomAccessVectorValues(vs, dim);
        }
        List<VectorFloat<?>> sample = new ArrayList<>(vs);
        java.util.Collections.shuffle(sample, new Random(42));
        return new ListRandomAccessVectorValues(sample.subList(0, PQ_TRAINING_VECTORS), dim);
    }

    /** Opens an index that {@link #build} wrote; {@code pqPath} null: an exact-scored index. */
    static VectorIndex open(Path graphPath, Path pqPath) throws IOException {
        // Memory-mapped in chunks (any size); jvector's faster MemorySegment reader needs Java 22.
        ReaderSupplier supplier = new MappedChunkReader.Supplier(graphPath);
        try {
            OnDiskGraphIndex graph = OnDiskGraphIndex.load(supplier);
            PQVectors pq = null;
            if (pqPath != null) {
                try (ReaderSupplier p = new MappedChunkReader.Supplier(pqPath);
                        var reader = p.get()) {
                    pq = PQVectors.load(reader);
                }
            }
            return new VectorIndex(supplier, graph, pq);
        } catch (IOException | RuntimeException e) {
            supplier.close();
            throw e;
        }
    }

    int size() {
        return graph.size(0);
    }

    int dimension() {
        return graph.getDimension();
    }

    /**
     * The {@code k} nearest of a unit query, best first, with exact cosines; the {@code rerank}
     * best by quantised score (at least {@code k}) are rescored exactly. Not thread-safe.
     */
    List<Hit> search(float[] unitQuery, int k, int rerank) {
        int n = size();
        int want = Math.min(k, n);
        int depth = Math.min(Math.max(want, rerank), n);
        VectorFloat<?> q = VTS.createFloatVector(unitQuery);
        var view = (OnDiskGraphIndex.View) searcher.getView();
        SearchScoreProvider ssp = pq != null
                ? new DefaultSearchScoreProvider(pq.precomputedScoreFunctionFor(q, DOT), view.rerankerFor(q, DOT))
                : DefaultSearchScoreProvider.exact(q, DOT, view);
        SearchResult r = searcher.search(ssp, want, depth, 0f, 0f, Bits.ALL);
        List<Hit> hits = new ArrayList<>();
        for (SearchResult.NodeScore ns : r.getNodes()) {
            hits.add(new Hit(ns.node, dot(unitQuery, view.getVector(ns.node))));
        }
        hits.sort((a, b) -> Double.compare(b.cosine(), a.cosine()));
        return hits.subList(0, Math.min(want, hits.size()));
    }

    /** The stored unit vector of {@code ordinal}. */
    float[] vector(int ordinal) {
        VectorFloat<?> v = ((OnDiskGraphIndex.View) searcher.getView()).getVector(ordinal);
        float[] out = new float[v.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    private static double dot(float[] q, VectorFloat<?> v) {
        double s = 0;
        for (int i = 0; i < q.length; i++) {
            s += (double) q[i] * v.get(i);
        }
        return s;
    }

    @Override
    public void close() throws IOException {
        try {
            searcher.close();
        } finally {
            try {
                graph.close();
            } finally {
                graphFile.close();
            }
        }
    }
}
