package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.radiospark.image.ImagePreprocessor;
import ai.radiospark.image.PreprocessedImage;
import ai.radiospark.image.ResizeMode;
import java.nio.file.Files;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Pixels uploaded as uint8 and rescaled inside the graph keep the golden results exactly: the
 * reference pixel values and the preprocessor's, in every resize mode, are {@code float(v / 255)}
 * of 8-bit values, and {@link RadioModel#forwardUint8} returns what {@link RadioModel#forward} does
 * on the floats, bit for bit, on the CPU plan and on the GPU plan run on the CPU.
 */
class Uint8PixelsTest {
    static final List<String> IMAGES = List.of(
            "camera.png",
            "chelsea.png",
            "palette.png",
            "rgba.png",
            "tiny.bmp",
            "china.jpg",
            "cmyk.jpg",
            "gray.jpg",
            "progressive.jpg");

    static final EnumSet<RadioModel.Output> BOTH = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);

    /**
     * The reference's pixel values (transformers 5.17 on PyTorch 2.11) are 8-bit values rescaled in
     * float32, {@code float(v) * float(1 / 255)}; this project's preprocessor rescales in float64 as
     * older transformers did, which differs by one ulp (at most 5.96e-8) in 126 of the 256 values.
     */
    @Test
    void referencePixelValuesAre8BitValuesRescaledInFloat32() {
        SafetensorsFile golden = Golden.file("images-pixel-values-224.safetensors");
        float inv = (float) (1.0 / 255.0);
        long values = 0;
        long asPreprocessor = 0;
        double maxDiff = 0;
        for (String name : golden.tensors().keySet()) {
            for (float x : golden.floats(name)) {
                int v = Math.round(x * 255f);
                assertTrue(v >= 0 && v <= 255 && (float) v * inv == x, name + ": " + x);
                values++;
                asPreprocessor += PixelBytes.rescale(v) == x ? 1 : 0;
                maxDiff = Math.max(maxDiff, Math.abs(PixelBytes.rescale(v) - x));
            }
        }
        System.out.println("reference pixel values 8-bit: " + values + "; equal to the preprocessor's rescale: "
                + asPreprocessor + "; max difference " + maxDiff);
        assertEquals(IMAGES.size() * 3L * 224 * 224, values);
        assertTrue(maxDiff > 0 && maxDiff <= 6e-8, "max difference " + maxDiff);
    }

    @ParameterizedTest
    @EnumSource(ResizeMode.class)
    void preprocessedPixelsAreExactly8BitValuesInEveryResizeMode(ResizeMode mode) throws Exception {
        ImagePreprocessor.Builder b =
                ImagePreprocessor.builder().optResizeMode(mode).optPatchSize(16);
        switch (mode) {
            case FIXED -> b.optSize(192, 256);
            case SHORTEST_EDGE -> b.optShortestEdge(200);
            case NATIVE, NATIVE_BUCKETS -> b.optMaxEdge(320);
            default -> throw new AssertionError(mode);
        }
        ImagePreprocessor pre = b.build();
        for (String name : IMAGES) {
            PreprocessedImage p = pre.preprocess(Files.readAllBytes(Golden.dir().resolve("images/" + name)), name);
            float[] px = p.toArray();
            assertTrue(PixelBytes.pack(px, 0, new byte[px.length], 0, px.length), mode + " " + name);
        }
    }

    @Test
    void packRefusesValuesThatAreNot8Bit() {
        byte[] out = new byte[1];
        assertTrue(PixelBytes.pack(new float[] {PixelBytes.rescale(200)}, 0, out, 0, 1));
        assertEquals((byte) 200, out[0]);
        for (float x : new float[] {0.5f, Math.nextUp(PixelBytes.rescale(3)), -1f / 255, 256f / 255, Float.NaN}) {
            assertFalse(PixelBytes.pack(new float[] {x}, 0, out, 0, 1), Float.toString(x));
        }
    }

    @Test
    void theGpuPlanUploadsUint8AndTheCpuPlanFloat32() {
        assertTrue(DevicePlan.of(Device.gpu(0), ModelDType.BFLOAT16).uint8Pixels());
        assertTrue(DevicePlan.of(Device.gpu(1), ModelDType.FLOAT32).uint8Pixels());
        assertFalse(DevicePlan.of(Device.cpu(), ModelDType.FLOAT32).uint8Pixels());
    }

    /**
     * On the preprocessor's pixels, the uint8 pass equals the float pass bit for bit; on the
     * reference's pixels as 8-bit values, float32 stays within the golden tolerance of the reference
     * outputs.
     */
    @ParameterizedTest
    @EnumSource(
            value = ModelDType.class,
            names = {"FLOAT32", "BFLOAT16"})
    void uint8ForwardEqualsTheFloatForwardBitForBit(ModelDType dtype) throws Exception {
        int per = 3 * 224 * 224;
        int n = IMAGES.size();
        float[] floats = new float[n * per];
        ImagePreprocessor pre = ImagePreprocessor.builder().build();
        for (int i = 0; i < n; i++) {
            byte[] encoded = Files.readAllBytes(Golden.dir().resolve("images/" + IMAGES.get(i)));
            pre.preprocess(encoded, IMAGES.get(i), floats, i * per);
        }
        byte[] bytes = new byte[floats.length];
        assertTrue(PixelBytes.pack(floats, 0, bytes, 0, floats.length));
        SafetensorsFile pixels = Golden.file("images-pixel-values-224.safetensors");
        SafetensorsFile outputs = Golden.file("images-tiny-vit-outputs-224.safetensors");
        byte[] reference = new byte[floats.length];
        for (int i = 0; i < n; i++) {
            float[] px = pixels.floats(IMAGES.get(i));
            for (int k = 0; k < per; k++) {
                reference[i * per + k] = (byte) Math.round(px[k] * 255f);
            }
        }
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        for (DevicePlan plan : List.of(DevicePlan.of(Device.cpu(), dtype), DevicePlan.of(Device.gpu(0), dtype))) {
            try (RadioModel m = RadioModel.builder().optPlan(plan).build(w)) {
                RadioOutput f = m.forward(floats, n, 224, 224, BOTH);
                RadioOutput u = m.forwardUint8(bytes, n, 224, 224, BOTH);
                assertArrayEquals(f.summary(), u.summary(), plan + " summary");
                assertArrayEquals(f.features(), u.features(), plan + " features");
                if (dtype == ModelDType.FLOAT32) {
                    RadioOutput r = m.forwardUint8(reference, n, 224, 224, BOTH);
                    for (int i = 0; i < n; i++) {
                        String name = IMAGES.get(i);
                        Golden.assertClose(
                                outputs.floats(name + ".summary"),
                                r.summary(i),
                                RadioModelGoldenTest.ATOL,
                                plan + " " + name + " summary");
                        Golden.assertClose(
                                outputs.floats(name + ".features"),
                                r.features(i),
                                RadioModelGoldenTest.ATOL,
                                plan + " " + name + " features");
                    }
                }
            }
        }
    }
}
