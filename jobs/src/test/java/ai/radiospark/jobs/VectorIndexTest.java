package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index itself on synthetic clustered vectors ({@link IndexBench.Clustered}): with product
 * quantisation (from {@value VectorIndex#PQ_MIN_VECTORS} vectors) its recall@10 against the exact
 * scan meets the goal; below that it scores exactly and finds the exact top-k; the cosines
 * it returns are exact.
 */
class VectorIndexTest {
    @TempDir
    Path tmp;

    static List<int[]> ordinals(VectorIndex ix, List<float[]> queries, int k) {
        List<int[]> out = new ArrayList<>();
        for (float[] q : queries) {
            out.add(ix.search(q, k, VectorIndex.DEFAULT_RERANK).stream()
                    .mapToInt(VectorIndex.Hit::ordinal)
                    .toArray());
        }
        return out;
    }

    @Test
    void quantisedIndexHasRecallAt10OfAtLeast095() throws Exception {
        IndexBench.Clustered gen = new IndexBench.Clustered(12, 256, 11);
        List<float[]> data = gen.vectors(1, 3000);
        List<float[]> queries = gen.vectors(2, 50);
        Path graph = tmp.resolve("graph.jvector");
        Path pq = tmp.resolve("pq.jvector");
        assertTrue(VectorIndex.build(data, 256, graph, pq).quantised());
        List<int[]> exact = new ArrayList<>();
        for (float[] q : queries) {
            exact.add(IndexBench.exactTop(data, q, 10));
        }
        try (VectorIndex ix = VectorIndex.open(graph, pq)) {
            assertEquals(3000, ix.size());
            double recall = IndexBench.recall(exact, ordinals(ix, queries, 10));
            assertTrue(recall >= 0.95, "recall@10 " + recall);
            // The cosines returned are the exact dot products of the unit vectors.
            VectorIndex.Hit top = ix.search(queries.get(0), 1, 50).get(0);
            float[] v = data.get(top.ordinal());
            double dot = 0;
            for (int i = 0; i < v.length; i++) {
                dot += (double) v[i] * queries.get(0)[i];
            }
            assertEquals(dot, top.cosine(), 1e-12);
        }
    }

    @Test
    void smallIndexScoresExactlyAndFindsTheExactTopK() throws Exception {
        IndexBench.Clustered gen = new IndexBench.Clustered(3, 32, 5);
        List<float[]> data = gen.vectors(1, 200);
        Path graph = tmp.resolve("graph.jvector");
        Path pq = tmp.resolve("pq.jvector");
        assertTrue(!VectorIndex.build(data, 32, graph, pq).quantised());
        try (VectorIndex ix = VectorIndex.open(graph, null)) {
            for (float[] q : gen.vectors(2, 10)) {
                int[] got = ix.search(q, 5, VectorIndex.DEFAULT_RERANK).stream()
                        .mapToInt(VectorIndex.Hit::ordinal)
                        .toArray();
                assertArrayEquals(IndexBench.exactTop(data, q, 5), got);
            }
        }
    }
}
