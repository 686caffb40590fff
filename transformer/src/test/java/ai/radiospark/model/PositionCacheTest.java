package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/**
 * Position embeddings are uploaded to the model's device once per grid size, not once per batch
 * ({@link PositionCache}): the outputs stay those of the reference, the cache is bounded, and a
 * tensor evicted while a pass uses it lives until that pass releases it.
 */
class PositionCacheTest {
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    /** 256x192 crops the table (16x12 of 16x16), 48x48 interpolates it (3x3): both non-default sizes. */
    @Test
    void twoForwardsAtTheSameSizeUploadThePositionsOnceAndMatchTheReference() {
        try (RadioModel m = RadioModel.builder()
                .build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights())) {
            assertEquals(0, m.positionUploads());
            for (String c : new String[] {"case1_1x3x256x192", "case4_3x3x48x48"}) {
                SafetensorsFile golden = Golden.file("tiny-vit/" + c + ".safetensors");
                long[] shape = golden.info("pixel_values").shape();
                int b = (int) shape[0];
                int h = (int) shape[2];
                int w = (int) shape[3];
                float[] pixels = golden.floats("pixel_values");
                long before = m.positionUploads();
                RadioOutput first = m.forward(pixels, b, h, w, BOTH);
                RadioOutput second = m.forward(pixels, b, h, w, BOTH);
                assertEquals(before + 1, m.positionUploads(), c + ": uploads");
                for (RadioOutput out : new RadioOutput[] {first, second}) {
                    Golden.assertClose(
                            golden.floats("summary"), out.summary(), RadioModelGoldenTest.ATOL, c + " summary");
                    Golden.assertClose(
                            golden.floats("features"), out.features(), RadioModelGoldenTest.ATOL, c + " features");
                }
                assertArrayEquals(first.features(), second.features(), c);
            }
            assertEquals(2, m.positionUploads());
        }
    }

    @Test
    void keepsTheLeastRecentlyUsedGridsUpToItsCapacityAndFreesEvictedTensorsAfterUse() {
        int grid = 4;
        int dim = 2;
        float[] table = new float[grid * grid * dim];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        PositionEmbedding embedding = new PositionEmbedding(table, grid, dim);
        try (NDManager manager = TorchEngine.newManager(Device.cpu())) {
            PositionCache cache = new PositionCache(embedding, manager, 2);
            PositionCache.Entry held = cache.acquire(4, 4);
            assertArrayEquals(embedding.forGrid(4, 4), held.tensor().toFloatArray());
            cache.release(cache.acquire(2, 3));
            cache.release(cache.acquire(4, 4)); // a hit: (4, 4) is now the most recently used
            assertEquals(2, cache.uploads());
            cache.release(cache.acquire(3, 2)); // evicts (2, 3)
            assertEquals(2, cache.size());
            assertEquals(3, cache.uploads());
            cache.release(cache.acquire(2, 3));
            assertEquals(4, cache.uploads(), "(2, 3) was evicted and uploaded again");
            // (4, 4) has just been evicted by (2, 3) while still held: freed only when released.
            assertFalse(held.tensor().isReleased());
            assertArrayEquals(embedding.forGrid(4, 4), held.tensor().toFloatArray());
            cache.release(held);
            assertTrue(held.tensor().isReleased());
            PositionCache.Entry last = cache.acquire(3, 2);
            cache.release(last);
            cache.close();
            assertTrue(last.tensor().isReleased(), "closing the cache frees its tensors");
            assertEquals(0, cache.size());
        }
    }
}
