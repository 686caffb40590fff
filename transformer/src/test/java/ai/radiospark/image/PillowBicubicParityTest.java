package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Bit-exact parity with Pillow 9.4's decode + convert("RGB") + resize(BICUBIC), on sizes that
 * exercise both passes, one pass only, downscaling and upscaling (see image-samples/README.md).
 */
class PillowBicubicParityTest {
    @Test
    void decodeConvertResizeMatchPillowToTheBit() throws Exception {
        Map<String, GoldenSafetensors.Tensor> ref =
                GoldenSafetensors.read(GoldenSafetensors.SAMPLES.resolve("pillow-9.4-bicubic.safetensors.gz"));
        assertEquals(6, ref.size());
        ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS, false);
        for (Map.Entry<String, GoldenSafetensors.Tensor> e : ref.entrySet()) {
            String file = e.getKey().substring(0, e.getKey().indexOf('@'));
            int[] shape = e.getValue().shape(); // (h, w, 3)
            DecodedImage img = decoder.decode(Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file)), file, null);
            byte[] mine = PillowBicubicResampler.resize(img.rgb(), img.width(), img.height(), shape[1], shape[0]);
            int differing = 0;
            for (int i = 0; i < mine.length; i++) {
                if (mine[i] != e.getValue().bytes()[i]) {
                    differing++;
                }
            }
            System.out.println("PILLOW94 " + e.getKey() + " differing bytes: " + differing);
            assertArrayEquals(e.getValue().bytes(), mine, e.getKey());
        }
    }

    @Test
    void unchangedSizeIsIdentity() {
        byte[] rgb = {1, 2, 3, 4, 5, 6};
        assertArrayEquals(rgb, PillowBicubicResampler.resize(rgb, 2, 1, 2, 1));
    }

    @Test
    void coefficientCacheIsSharedAndBounded() {
        assertEquals(PillowBicubicResampler.coefficients(427, 224), PillowBicubicResampler.coefficients(427, 224));
        for (int in = 1000; in < 1400; in++) {
            PillowBicubicResampler.coefficients(in, 224);
        }
        org.junit.jupiter.api.Assertions.assertTrue(PillowBicubicResampler.cacheSize() <= 256);
    }

    @Test
    void coefficientsSumToOneInFixedPoint() {
        PillowBicubicResampler.Coefficients c = PillowBicubicResampler.coefficients(640, 224);
        for (int xx = 0; xx < 224; xx++) {
            long sum = 0;
            for (int x = 0; x < c.count[xx]; x++) {
                sum += c.weights[xx * c.ksize + x];
            }
            assertEquals(1 << PillowBicubicResampler.PRECISION_BITS, sum, 2.0, "output pixel " + xx);
        }
    }

    /** The float output is the byte output over 255, channel-major, for every pass combination. */
    @Test
    void floatOutputIsByteOutputOver255() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        int[][] sizes = {
            {640, 427, 224, 224},
            {300, 700, 224, 224},
            {50, 40, 224, 224},
            {640, 427, 640, 224},
            {640, 427, 224, 427},
            {9, 300, 7, 5},
            {1, 1, 3, 2},
            {5, 5, 5, 5}
        };
        for (int[] s : sizes) {
            byte[] rgb = new byte[3 * s[0] * s[1]];
            for (int i = 0; i < rgb.length; i++) {
                rgb[i] = (byte) r.nextInt(256);
            }
            byte[] bytes = PillowBicubicResampler.resize(rgb, s[0], s[1], s[2], s[3]);
            int plane = s[2] * s[3];
            float[] floats = new float[3 * plane + 7];
            PillowBicubicResampler.resizeToFloats(rgb, s[0], s[1], s[2], s[3], floats, 7);
            for (int i = 0; i < plane; i++) {
                for (int c = 0; c < 3; c++) {
                    assertEquals(
                            (float) ((bytes[3 * i + c] & 0xFF) * (1.0 / 255.0)),
                            floats[7 + c * plane + i],
                            java.util.Arrays.toString(s) + " pixel " + i);
                }
            }
        }
    }
}
