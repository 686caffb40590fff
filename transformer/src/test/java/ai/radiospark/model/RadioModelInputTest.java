package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad inputs to the forward pass, and native memory over many passes. */
class RadioModelInputTest {
    static RadioModel model;

    @BeforeAll
    static void load() {
        model = RadioModel.builder()
                .build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void inputsThatAreNotAMultipleOfThePatchSizeAreRefused() {
        String m = assertThrows(RadioException.class, () -> model.forward(new float[3 * 200 * 224], 1, 200, 224))
                .getMessage();
        assertEquals(
                "Input size 200x224 is not a multiple of the patch size 16. Resize images to a multiple of 16 "
                        + "(for example 192x224), or use the native resize mode, which snaps to the patch grid.",
                m);
    }

    @Test
    void wrongChannelCountIsRefused() {
        String m = assertThrows(RadioException.class, () -> model.forward(new float[2 * 4 * 32 * 32], 2, 32, 32))
                .getMessage();
        assertTrue(m.startsWith("Input has 4 channels but RADIO takes (2, 3, 32, 32)"), m);
    }

    @Test
    void emptyBatchIsRefused() {
        String m = assertThrows(RadioException.class, () -> model.forward(new float[0], 0, 224, 224))
                .getMessage();
        assertTrue(m.contains("empty batch"), m);
    }

    @Test
    void nonSquareAndLargerThanTheTableWork() {
        // 512x128 is wider than max_img_size 256: the position table is upsampled, then cropped.
        RadioOutput out = model.forward(
                new float[3 * 128 * 512],
                1,
                128,
                512,
                EnumSet.of(RadioModel.Output.FEATURES, RadioModel.Output.SUMMARY));
        assertEquals(8, out.rows());
        assertEquals(32, out.cols());
        assertEquals(8 * 32 * 64, out.features().length);
        for (float v : out.summary()) {
            assertTrue(Float.isFinite(v));
        }
    }

    /**
     * 200 forward passes at batch 4, 224²: native memory (RSS) must not grow by more than 64 MB
     * after the first 50 passes have warmed allocator caches. Leaking one batch's input buffer
     * (2.4 MB) per pass would add ~480 MB; measured growth is under 5 MB.
     */
    @Test
    void nativeMemoryStaysBoundedOver200Passes() throws Exception {
        float[] pixels = new float[4 * 3 * 224 * 224];
        java.util.Arrays.fill(pixels, 0.5f);
        for (int i = 0; i < 50; i++) {
            model.forward(pixels, 4, 224, 224);
        }
        touchYoungGeneration();
        long before = rssKb();
        for (int i = 0; i < 200; i++) {
            model.forward(pixels, 4, 224, 224);
        }
        long growthMb = (rssKb() - before) / 1024;
        System.out.println("RSS growth over 200 forward passes: " + growthMb + " MB");
        assertTrue(growthMb < 64, "native memory grew by " + growthMb + " MB over 200 passes");
    }

    /**
     * RSS counts the Java heap's pages too, and eden's pages are first touched as it fills. Filling
     * it once with garbage before measuring leaves only native growth in the figure.
     */
    static long touchYoungGeneration() {
        long sum = 0;
        for (int i = 0; i < 1024; i++) {
            byte[] garbage = new byte[1 << 20];
            garbage[i] = 1;
            sum += garbage[i];
        }
        return sum;
    }

    static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }
}
