package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.radiospark.RadioException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** float16 encoding and adaptive average pooling, without Spark. */
class HalfAndPoolingTest {
    @Test
    void halfBitsOfKnownValues() {
        assertEquals(0x3c00, Half.fromFloat(1f) & 0xffff);
        assertEquals(0xc000, Half.fromFloat(-2f) & 0xffff);
        assertEquals(0x7bff, Half.fromFloat(65504f) & 0xffff);
        assertEquals(0x7c00, Half.fromFloat(65520f) & 0xffff); // ties to even: rounds up to infinity
        assertEquals(0x7bff, Half.fromFloat(65519f) & 0xffff);
        assertEquals(0x0001, Half.fromFloat(0x1p-24f) & 0xffff); // smallest subnormal
        assertEquals(0x0000, Half.fromFloat(0x1p-25f) & 0xffff); // tie to even: zero
        assertEquals(0x0001, Half.fromFloat(0x1.8p-25f) & 0xffff);
        assertEquals(0x0400, Half.fromFloat(0x1p-14f) & 0xffff); // smallest normal
        assertEquals(0x2e66, Half.fromFloat(0.1f) & 0xffff);
        assertEquals(0x3c00, Half.fromFloat(1.00048828125f) & 0xffff); // 1 + 2^-11: tie, to even
        assertEquals(0x3c02, Half.fromFloat(1.00146484375f) & 0xffff); // 1 + 3*2^-11: tie, to even (up)
        assertEquals(0x8000, Half.fromFloat(-0f) & 0xffff);
        assertEquals(0xfc00, Half.fromFloat(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(true, Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
    }

    @Test
    void halfRoundTripsEveryHalfValueAndRoundsToNearest() {
        for (int h = 0; h < 0x10000; h++) {
            if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
                continue; // NaN payloads
            }
            float f = Half.toFloat((short) h);
            assertEquals(h, Half.fromFloat(f) & 0xffff, "half " + Integer.toHexString(h));
        }
        Random r = new Random(1);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 6));
            float back = Half.toFloat(Half.fromFloat(f));
            float ulp = Math.abs(f) < 0x1p-14f ? 0x1p-24f : Math.ulp(back) * 8192; // half's ulp near f
            assertEquals(f, back, ulp / 2 + Math.abs(f) * 1e-7, "value " + f);
        }
        float[] v = {1.5f, -0.25f, 3.14159f};
        byte[] b = Half.encode(v);
        assertArrayEquals(new byte[] {0x00, 0x3e, 0x00, (byte) 0xb4, 0x48, 0x42}, b); // little-endian
        assertArrayEquals(new float[] {1.5f, -0.25f, 3.140625f}, Half.decode(b));
    }

    @Test
    void adaptivePoolingMatchesTorchBins() {
        // 3x5 grid, dim 1: value = r*10 + c
        float[] grid = new float[15];
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 5; c++) {
                grid[r * 5 + c] = r * 10 + c;
            }
        }
        // torch.nn.functional.adaptive_avg_pool2d(x, (2, 2)): rows [0,2) and [1,3), cols [0,3) and [2,5)
        float[] p = FeaturesMode.pool(grid, 3, 5, 1, 2, 2);
        assertArrayEquals(new float[] {6f, 8f, 16f, 18f}, p, 1e-6f);
        assertArrayEquals(grid, FeaturesMode.pool(grid, 3, 5, 1, 3, 5), 0f);
        assertArrayEquals(new float[] {12f}, FeaturesMode.pool(grid, 3, 5, 1, 1, 1), 1e-6f);
    }

    @Test
    void featuresModeParsing() {
        assertEquals(FeaturesMode.Kind.NONE, FeaturesMode.parse("none").kind());
        assertEquals(FeaturesMode.Kind.FULL, FeaturesMode.parse("FULL").kind());
        FeaturesMode m = FeaturesMode.parse("pooled:2x3");
        assertEquals(2, m.rows());
        assertEquals(3, m.cols());
        RadioException e = assertThrows(RadioException.class, () -> FeaturesMode.parse("pooled:2"));
        assertEquals(
                "Invalid featuresMode \"pooled:2\". Use none, full, or pooled:RxC with R and C positive (e.g. "
                        + "pooled:2x2 averages the patch grid into 2x2 cells).",
                e.getMessage());
    }
}
