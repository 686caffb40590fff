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
    Map<String, GoldenSafetensors.Tensor> ref = GoldenSafetensors.read(
        GoldenSafetensors.SAMPLES.resolve("pillow-9.4-bicubic.safetensors.gz"));
    assertEquals(6, ref.size());
    ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS, false);
    for (Map.Entry<String, GoldenSafetensors.Tensor> e : ref.entrySet()) {
      String file = e.getKey().substring(0, e.getKey().indexOf('@'));
      int[] shape = e.getValue().shape(); // (h, w, 3)
      DecodedImage img = decoder.decode(
          Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file)), file, null);
      byte[] mine = PillowBicubicResampler.resize(
          img.rgb(), img.width(), img.height(), shape[1], shape[0]);
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
    assertEquals(PillowBicubicResampler.coefficients(427, 224),
        PillowBicubicResampler.coefficients(427, 224));
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
}
