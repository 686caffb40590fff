package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.Golden;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioOutput;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stage's batches ({@code BatchScheduler}) go to a GPU plan's model as 8-bit pixels when they
 * pack exactly, and as float32 otherwise or on the CPU plan, with the same outputs.
 */
class BatchPixelsTest {
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    @Test
    void theGpuPlanGets8BitPixelsWhenTheyPackExactlyAndTheSameOutputs() throws Exception {
        ImagePreprocessor pre = ImagePreprocessor.builder().optSize(64, 96).build();
        List<float[]> images = new ArrayList<>();
        for (String name : List.of("chelsea.png", "china.jpg")) {
            images.add(pre.preprocess(Files.readAllBytes(Golden.dir().resolve("images/" + name)), name)
                    .toArray());
        }
        List<float[]> other = new ArrayList<>(images);
        float[] off = images.get(1).clone();
        off[7] = 0.5f; // not an 8-bit value: another pixel source
        other.set(1, off);
        DevicePlan gpu = DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32);
        try (RadioModel m = RadioModel.builder()
                .optPlan(gpu)
                .build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights())) {
            BatchPixels packed = BatchPixels.of(images, 64, 96, m.plan().uint8Pixels());
            assertTrue(packed.uint8());
            BatchPixels floats = BatchPixels.of(images, 64, 96, false);
            assertFalse(floats.uint8());
            assertFalse(BatchPixels.of(
                            images,
                            64,
                            96,
                            DevicePlan.of(Device.cpu(), ModelDType.FLOAT32).uint8Pixels())
                    .uint8());
            BatchPixels fallback = BatchPixels.of(other, 64, 96, true);
            assertFalse(fallback.uint8(), "0.5 is not an 8-bit value: float32");
            RadioOutput u = packed.forward(m, BOTH);
            RadioOutput f = floats.forward(m, BOTH);
            assertArrayEquals(f.summary(), u.summary());
            assertArrayEquals(f.features(), u.features());
            float[] all = new float[2 * 3 * 64 * 96];
            System.arraycopy(other.get(0), 0, all, 0, 3 * 64 * 96);
            System.arraycopy(off, 0, all, 3 * 64 * 96, 3 * 64 * 96);
            assertArrayEquals(
                    m.forward(all, 2, 64, 96, BOTH).summary(),
                    fallback.forward(m, BOTH).summary());
        }
    }

    /**
     * Images of two sizes with one token count (64x96 and 96x64 at patch 16) packed for one pass: each
     * size's images contiguous, 8-bit on the GPU plan and float32 on the CPU plan, with the outputs of
     * each image's own pass.
     */
    @Test
    void imagesOfTwoSizesOfOneTokenCountPackIntoOnePass() throws Exception {
        List<float[]> images = new ArrayList<>();
        int[][] sizes = {{64, 96}, {64, 96}, {96, 64}};
        String[] names = {"chelsea.png", "china.jpg", "camera.png"};
        for (int i = 0; i < 3; i++) {
            ImagePreprocessor pre = ImagePreprocessor.builder()
                    .optSize(sizes[i][0], sizes[i][1])
                    .build();
            images.add(pre.preprocess(Files.readAllBytes(Golden.dir().resolve("images/" + names[i])), names[i])
                    .toArray());
        }
        List<RadioModel.SubBatch> parts =
                List.of(new RadioModel.SubBatch(2, 64, 96), new RadioModel.SubBatch(1, 96, 64));
        DevicePlan gpu = DevicePlan.of(Device.gpu(0), ModelDType.FLOAT32);
        try (RadioModel m = RadioModel.builder()
                .optPlan(gpu)
                .build(Checkpoint.open(Golden.checkpoint("tiny-vit")).weights())) {
            BatchPixels packed = BatchPixels.of(images, parts, true);
            assertTrue(packed.uint8());
            BatchPixels floats = BatchPixels.of(images, parts, false);
            assertFalse(floats.uint8());
            RadioOutput u = packed.forward(m, BOTH);
            RadioOutput f = floats.forward(m, BOTH);
            assertArrayEquals(f.summary(), u.summary());
            assertArrayEquals(f.features(), u.features());
            for (int i = 0; i < 3; i++) {
                RadioOutput one = m.forward(images.get(i), 1, sizes[i][0], sizes[i][1], BOTH);
                Golden.assertClose(one.summary(), f.summary(i), 1e-4, "summary " + i);
                Golden.assertClose(one.features(), f.features(i), 1e-4, "features " + i);
                assertEquals(sizes[i][0] / 16, f.rows(i));
                assertEquals(sizes[i][1] / 16, f.cols(i));
            }
        }
    }
}
