package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every decodable golden image against the reference CLIPImageProcessor pixel values. */
class GoldenPixelValuesTest {
    private static Map<String, GoldenSafetensors.Tensor> golden;

    @BeforeAll
    static void load() throws Exception {
        golden = GoldenSafetensors.read(GoldenSafetensors.GOLDEN.resolve("images-pixel-values-224.safetensors"));
    }

    static double[] maxMean(float[] a, float[] b) {
        double max = 0;
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            max = Math.max(max, d);
            sum += d;
        }
        return new double[] {max, sum / a.length};
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "camera.png",
                "chelsea.png",
                "palette.png",
                "rgba.png",
                "tiny.bmp",
                "china.jpg",
                "cmyk.jpg",
                "gray.jpg",
                "progressive.jpg"
            })
    void matchesReference(String file) throws Exception {
        byte[] bytes = Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file));
        PreprocessedImage p = ImagePreprocessor.builder().build().preprocess(bytes, file);
        GoldenSafetensors.Tensor ref = golden.get(file);
        assertArrayEquals(new int[] {3, 224, 224}, ref.shape());
        assertEquals(224, p.height());
        assertEquals(224, p.width());
        double[] e = maxMean(p.toArray(), ref.data());
        System.out.printf(Locale.ROOT, "PIXELS %-16s max %.6f (%.2f/255) mean %.3e%n", file, e[0], e[0] * 255, e[1]);
        if (file.endsWith(".jpg")) {
            assertTrue(e[0] <= 0.05, file + " max " + e[0]);
            assertTrue(e[1] <= 2e-3, file + " mean " + e[1]);
        } else {
            assertTrue(e[0] <= 2.0 / 255 + 1e-6, file + " max " + e[0]);
            assertTrue(e[1] <= 5e-4, file + " mean " + e[1]);
        }
    }
}
