package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.JavaSerialization;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build frees each weight's host copy as soon as the module holds the weight
 * ({@link ScriptWeights}): building the base shape from heap weights (a broadcast checkpoint) keeps
 * at most one weight's direct copy alive at a time, not the whole model's.
 */
class ScriptWeightsMemoryTest {
    @TempDir
    static Path dir;

    @Test
    void aBuildFromHeapWeightsHoldsOneWeightInDirectMemoryAtATime() throws Exception {
        RandomCheckpoint.write(RandomCheckpoint.shape("base"), dir, 11);
        RadioWeights heap = JavaSerialization.roundTrip(Checkpoint.open(dir).weights());
        long all = 0;
        long largest = 0;
        for (Map.Entry<String, Tensor> e : heap.tensors().entrySet()) {
            Tensor t = e.getValue();
            assertTrue(!t.data().isDirect(), t.name() + " is on the heap");
            all += t.data().remaining();
            if (!e.getKey().equals("pos_embed")) { // the position table is not a module weight
                largest = Math.max(largest, t.data().remaining());
            }
        }
        long before = NativeBuffers.liveBytes();
        NativeBuffers.resetPeak();
        try (RadioModel m = RadioModel.builder().build(heap)) {
            long peak = NativeBuffers.peakBytes() - before;
            System.out.printf(
                    "base shape from heap weights: direct copies peaked at %.1f MB; largest weight %.1f MB, all "
                            + "weights %.1f MB%n",
                    peak / 1e6, largest / 1e6, all / 1e6);
            assertTrue(peak > 0 && peak <= largest, "peak " + peak + " bytes, largest weight " + largest);
            assertTrue(peak * 20 < all, "peak " + peak + " of " + all + " bytes");
            assertEquals(before, NativeBuffers.liveBytes(), "every host copy freed after the build");
            assertEquals(12, m.config().numHiddenLayers());
        }
    }
}
