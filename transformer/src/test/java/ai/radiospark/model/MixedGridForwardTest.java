package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One forward pass over input sizes of one token count ({@link RadioModel#forward(List, List, java.util.Set)}): 2
 * images of 4x3 patches (64x48 at patch 16) and 1 of 3x4 give each image the summary and features of a pass of its own,
 * batch 1, within the golden tolerances: 1e-4 max abs in float32 ({@link RadioModelGoldenTest#ATOL}), cosine 0.999
 * in bfloat16 ({@link RadioModelBf16Test#MIN_COSINE}); 8-bit pixels give what their floats give, bit for bit.
 */
class MixedGridForwardTest {
    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    @TempDir
    Path tmp;

    /** tiny-vit and tiny-swiglu: the golden checkpoints; random-tiny: {@code radio init --shape tiny}'s. */
    private RadioWeights weights(String model) {
        if (model.equals("random-tiny")) {
            RandomCheckpoint.write(RandomCheckpoint.shape("tiny"), tmp, 7);
            return Checkpoint.open(tmp).weights();
        }
        return Checkpoint.open(Golden.checkpoint(model)).weights();
    }

    /** (b, 3, h, w) 8-bit values rescaled as the preprocessor does. */
    private static float[] pixels(int b, int h, int w, long seed) {
        Random r = new Random(seed);
        float[] out = new float[b * 3 * h * w];
        for (int i = 0; i < out.length; i++) {
            out[i] = PixelBytes.rescale(r.nextInt(256));
        }
        return out;
    }

    private static byte[] bytes(float[] px) {
        byte[] out = new byte[px.length];
        assertTrue(PixelBytes.pack(px, 0, out, 0, px.length));
        return out;
    }

    private static float[] image(float[] px, int i, int h, int w) {
        float[] out = new float[3 * h * w];
        System.arraycopy(px, i * out.length, out, 0, out.length);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-vit", "tiny-swiglu", "random-tiny"})
    void transposedGridsInOnePassMatchBatchOneInFloat32(String model) {
        RadioWeights weights = weights(model);
        int h = 4 * weights.config().patchSize(); // 64 at patch 16
        int w = 3 * weights.config().patchSize(); // 48 at patch 16
        float[] landscape = pixels(2, h, w, 1);
        float[] portrait = pixels(1, w, h, 2);
        List<RadioModel.SubBatch> parts = List.of(new RadioModel.SubBatch(2, h, w), new RadioModel.SubBatch(1, w, h));
        try (RadioModel m = RadioModel.builder().build(weights)) {
            RadioOutput mixed = m.forward(List.of(landscape, portrait), parts, BOTH);
            assertEquals(3, mixed.batch());
            assertEquals(List.of(4, 4, 3), List.of(mixed.rows(0), mixed.rows(1), mixed.rows(2)));
            assertEquals(List.of(3, 3, 4), List.of(mixed.cols(0), mixed.cols(1), mixed.cols(2)));
            List<RadioOutput> single = new ArrayList<>();
            single.add(m.forward(image(landscape, 0, h, w), 1, h, w, BOTH));
            single.add(m.forward(image(landscape, 1, h, w), 1, h, w, BOTH));
            single.add(m.forward(portrait, 1, w, h, BOTH));
            double worst = 0;
            for (int i = 0; i < 3; i++) {
                RadioOutput one = single.get(i);
                assertEquals(one.rows(), mixed.rows(i));
                worst = Math.max(
                        worst,
                        Golden.assertClose(
                                one.summary(0), mixed.summary(i), RadioModelGoldenTest.ATOL, model + " summary " + i));
                worst = Math.max(
                        worst,
                        Golden.assertClose(
                                one.features(0),
                                mixed.features(i),
                                RadioModelGoldenTest.ATOL,
                                model + " features " + i));
            }
            System.out.printf("%s mixed %dx%d + %dx%d pass vs batch 1: max abs error %.3g%n", model, h, w, w, h, worst);
            // The portrait image's features differ from a landscape one's: each was embedded on its own grid.
            assertTrue(Golden.cosine(mixed.features(0), mixed.features(2)) < 0.999);

            RadioOutput packed = m.forwardUint8(List.of(bytes(landscape), bytes(portrait)), parts, BOTH);
            assertArrayEquals(mixed.summary(), packed.summary(), model + " uint8 summary");
            assertArrayEquals(mixed.features(), packed.features(), model + " uint8 features");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-vit", "tiny-swiglu"})
    void transposedGridsInOnePassMatchBatchOneInBfloat16(String model) {
        RadioWeights weights = weights(model);
        int h = 4 * weights.config().patchSize();
        int w = 3 * weights.config().patchSize();
        float[] landscape = pixels(2, h, w, 3);
        float[] portrait = pixels(1, w, h, 4);
        try (RadioModel m = RadioModel.builder().optDType(ModelDType.BFLOAT16).build(weights)) {
            RadioOutput mixed = m.forward(
                    List.of(portrait, landscape),
                    List.of(new RadioModel.SubBatch(1, w, h), new RadioModel.SubBatch(2, h, w)),
                    BOTH);
            RadioOutput[] single = {
                m.forward(portrait, 1, w, h, BOTH),
                m.forward(image(landscape, 0, h, w), 1, h, w, BOTH),
                m.forward(image(landscape, 1, h, w), 1, h, w, BOTH)
            };
            for (int i = 0; i < 3; i++) {
                double s = Golden.cosine(single[i].summary(0), mixed.summary(i));
                double f = Golden.cosine(single[i].features(0), mixed.features(i));
                assertTrue(s >= RadioModelBf16Test.MIN_COSINE, model + " image " + i + " summary cosine " + s);
                assertTrue(f >= RadioModelBf16Test.MIN_COSINE, model + " image " + i + " features cosine " + f);
                assertEquals(single[i].rows(), mixed.rows(i));
                assertEquals(single[i].cols(), mixed.cols(i));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-vit"})
    void sizesOfDifferentTokenCountsAreRefused(String model) {
        try (RadioModel m = RadioModel.builder().build(weights(model))) {
            RadioException e = assertThrows(
                    RadioException.class,
                    () -> m.forward(
                            List.of(pixels(1, 64, 48, 5), pixels(1, 48, 48, 6)),
                            List.of(new RadioModel.SubBatch(1, 64, 48), new RadioModel.SubBatch(1, 48, 48)),
                            BOTH));
            assertEquals(
                    "Cannot run input sizes 64x48 and 48x48 in one forward pass: their patch counts differ (12 and 9)."
                            + " Run each size in its own pass, or sizes with equal rows x cols patches together.",
                    e.getMessage());
        }
    }
}
