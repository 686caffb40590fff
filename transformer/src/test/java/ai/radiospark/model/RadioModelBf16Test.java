package ai.radiospark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * bfloat16 compute ({@code optDType(BFLOAT16)}) against float32 on the golden cases. Stated
 * tolerance: cosine ≥ 0.999 of the summary and of every image's features, against float32 and
 * against the reference (bf16 has an 8-bit mantissa, so element-wise 1e-4 does not apply).
 */
class RadioModelBf16Test {
    static final double MIN_COSINE = 0.999;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "tiny-vit, case0_2x3x224x224",
        "tiny-vit, case1_1x3x256x192",
        "tiny-vit, case4_3x3x48x48",
        "tiny-swiglu, case0_2x3x224x224"
    })
    void bf16WithinCosineOfFloat32(String model, String caseName) {
        SafetensorsFile golden = Golden.file(model + "/" + caseName + ".safetensors");
        TensorInfo px = golden.info("pixel_values");
        int b = (int) px.shape()[0];
        int h = (int) px.shape()[2];
        int w = (int) px.shape()[3];
        RadioWeights weights = Checkpoint.open(Golden.checkpoint(model)).weights();
        EnumSet<RadioModel.Output> outs = EnumSet.of(RadioModel.Output.SUMMARY, RadioModel.Output.FEATURES);
        float[] pixels = golden.floats("pixel_values");
        try (RadioModel f32 = RadioModel.builder().build(weights);
                RadioModel bf16 =
                        RadioModel.builder().optDType(ModelDType.BFLOAT16).build(weights)) {
            assertEquals(ModelDType.BFLOAT16, bf16.dtype());
            RadioOutput ref = f32.forward(pixels, b, h, w, outs);
            RadioOutput got = bf16.forward(pixels, b, h, w, outs);
            double s = Golden.cosine(ref.summary(), got.summary());
            double sRef = Golden.cosine(golden.floats("summary"), got.summary());
            double f = ai.radiospark.Cosine.lowestPerImage(ref.features(), got.features(), b);
            System.out.printf(
                    "%s %s bf16: summary cosine vs float32 %.6f, vs reference %.6f, min image features cosine"
                            + " %.6f%n",
                    model, caseName, s, sRef, f);
            assertTrue(s >= MIN_COSINE, "summary cosine " + s);
            assertTrue(sRef >= MIN_COSINE, "summary cosine vs reference " + sRef);
            assertTrue(f >= MIN_COSINE, "features cosine " + f);
            assertTrue(
                    !java.util.Arrays.equals(ref.summary(), got.summary()),
                    "bf16 output identical to float32: not computing in bf16");
        }
    }
}
