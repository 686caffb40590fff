package ai.radiospark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The synthetic data of the index benchmark ({@link IndexBench}): both sets have members of a
 * cluster at a cosine of about 0.7 to 0.9 from one another, but only the structured one has
 * neighbours at different distances (the 1st nearest clearly nearer than the 100th), as image
 * embeddings have; in the isotropic one they are nearly equidistant.
 */
class IndexDataTest {
    static final int DIM = 512;

    /** Mean cosine of two members of the same cluster, over the first pairs found. */
    static double sameClusterCosine(IndexBench.Generator gen, List<float[]> data) {
        double sum = 0;
        int pairs = 0;
        for (int i = 0; i < data.size() && pairs < 2000; i++) {
            for (int j = i + 1; j < data.size() && pairs < 2000; j++) {
                if (gen.cluster(1, i) == gen.cluster(1, j)) {
                    sum += IndexBench.dot(data.get(i), data.get(j));
                    pairs++;
                }
            }
        }
        return sum / pairs;
    }

    static String text(double[] v) {
        return java.util.Arrays.toString(v);
    }

    @Test
    void structuredDataHasNeighboursAtDifferentDistances() {
        IndexBench.Generator gen = IndexBench.Data.STRUCTURED.generator(12, DIM, 7);
        List<float[]> data = gen.vectors(1, 2000);
        List<float[]> queries = gen.vectors(2, 20);
        double same = sameClusterCosine(gen, data);
        assertTrue(same > 0.7 && same < 0.9, "cosine within a cluster " + same);
        double[] c = IndexBench.neighbourCosines(data, queries, 1, 10, 100, 1000);
        // The 1st nearest well above the 100th; beyond the cluster (250 members) unrelated images, about 0.2.
        assertTrue(c[0] - c[2] > 0.08, text(c));
        assertTrue(c[0] > c[1] && c[1] > c[2] && c[2] > c[3], text(c));
        assertTrue(c[3] > 0.1 && c[3] < 0.3, text(c));
        // Unit vectors, reproducible from the seeds.
        assertEquals(1.0, IndexBench.dot(data.get(5), data.get(5)), 1e-5);
        assertEquals(0, java.util.Arrays.compare(data.get(5), gen.vector(1, 5)));
    }

    @Test
    void isotropicDataHasNearlyEquidistantNeighbours() {
        IndexBench.Generator gen = IndexBench.Data.ISOTROPIC.generator(12, DIM, 7);
        List<float[]> data = gen.vectors(1, 2000);
        List<float[]> queries = gen.vectors(2, 20);
        double same = sameClusterCosine(gen, data);
        assertTrue(same > 0.7 && same < 0.9, "cosine within a cluster " + same);
        double[] c = IndexBench.neighbourCosines(data, queries, 1, 10, 100, 1000);
        assertTrue(c[0] - c[2] < 0.05, text(c));
    }
}
