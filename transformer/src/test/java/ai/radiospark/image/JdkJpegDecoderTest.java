package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The JPEG fast path gives what the general path (TwelveMonkeys + RasterToRgb) gives. */
class JdkJpegDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS, false);
    private final ImageDecoder general = decoder.withoutJdkJpeg();

    private static byte[] golden(String file) throws IOException {
        return Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file));
    }

    private static JdkJpegDecoder.Mode mode(byte[] jpeg) {
        JdkJpegDecoder.Header h = JdkJpegDecoder.Header.scan(jpeg);
        return h == null ? null : h.mode(JpegColourSpace.of(jpeg));
    }

    private void assertSameAsGeneralPath(byte[] jpeg, String name) {
        DecodedImage fast = JdkJpegDecoder.decode(jpeg, ImageDecoder.DEFAULT_MAX_PIXELS, null);
        assertNotNull(fast, name + " should take the fast path");
        DecodedImage ref = general.decode(jpeg, name, null);
        assertEquals(ref.width(), fast.width(), name);
        assertEquals(ref.height(), fast.height(), name);
        assertEquals(ref.originalWidth(), fast.originalWidth(), name);
        assertEquals(ref.originalHeight(), fast.originalHeight(), name);
        assertArrayEquals(ref.rgb(), fast.rgb(), name);
    }

    @Test
    void goldenJpegsTakeTheFastPathWithTheSamePixels() throws Exception {
        assertTrue(JdkJpegDecoder.available());
        assertEquals(JdkJpegDecoder.Mode.RGB, mode(golden("china.jpg"))); // with an ICC profile
        assertEquals(JdkJpegDecoder.Mode.RAW_YCBCR, mode(golden("progressive.jpg")));
        assertEquals(JdkJpegDecoder.Mode.RAW_GRAY, mode(golden("gray.jpg")));
        assertNull(mode(golden("cmyk.jpg")));
        for (String file : new String[] {"china.jpg", "progressive.jpg", "gray.jpg"}) {
            assertSameAsGeneralPath(golden(file), file);
        }
    }

    @Test
    void subsampledDecodeIsTheSame() throws Exception {
        byte[] china = golden("china.jpg");
        for (int factor = 2; factor <= 5; factor++) {
            int f = factor;
            DecodedImage fast = JdkJpegDecoder.decode(china, ImageDecoder.DEFAULT_MAX_PIXELS, (w, h) -> f);
            DecodedImage ref = general.decode(china, "china.jpg", (w, h) -> f);
            assertEquals(ref.width(), fast.width());
            assertEquals(ref.height(), fast.height());
            assertArrayEquals(ref.rgb(), fast.rgb(), "factor " + f);
        }
    }

    @Test
    void oddSizesAndSamplings() throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        int[][] sizes = {{1, 1}, {7, 13}, {17, 9}, {33, 1}, {300, 201}};
        for (int[] s : sizes) {
            BufferedImage im = new BufferedImage(s[0], s[1], BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < s[1]; y++) {
                for (int x = 0; x < s[0]; x++) {
                    im.setRGB(x, y, r.nextInt(1 << 24));
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertTrue(ImageIO.write(im, "jpg", out));
            byte[] jpeg = out.toByteArray(); // JFIF, 4:2:0
            assertEquals(JdkJpegDecoder.Mode.RGB, mode(jpeg));
            assertSameAsGeneralPath(jpeg, s[0] + "x" + s[1]);
        }
    }

    /** Markers where libjpeg and the JDK reader disagree about YCbCr keep the general path. */
    @Test
    void markerRules() throws Exception {
        BufferedImage im = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(im, "jpg", out));
        byte[] jfif420 = out.toByteArray();
        assertEquals(0xE0, jfif420[3] & 0xFF);
        int afterApp0 = 4 + (((jfif420[4] & 0xFF) << 8) | (jfif420[5] & 0xFF));
        byte[] unmarked420 =
                concat(Arrays.copyOfRange(jfif420, 0, 2), Arrays.copyOfRange(jfif420, afterApp0, jfif420.length));
        assertEquals(JdkJpegDecoder.Mode.RGB, mode(unmarked420)); // subsampled: YCbCr for both
        assertSameAsGeneralPath(unmarked420, "unmarked420");
        byte[] adobe1 = withAdobe(jfif420, 1);
        byte[] adobe0 = withAdobe(jfif420, 0);
        assertEquals(JdkJpegDecoder.Mode.RGB, mode(adobe1));
        assertSameAsGeneralPath(adobe1, "adobe1");
        assertNull(mode(adobe0)); // the JDK reader would refuse to convert it
        assertEquals(JdkJpegDecoder.Mode.RAW_YCBCR, mode(setSof(jfif420, 0xC2)));
        assertNull(mode(setSof(jfif420, 0xC9))); // arithmetic coding
        byte[] unmarked444 = unmarked420.clone();
        int sof = indexOf(unmarked444, 0xC0);
        unmarked444[sof + 11] = 0x11; // Y not subsampled: 4:4:4, the JDK would guess RGB
        assertNull(mode(unmarked444));
    }

    @Test
    void brokenFilesFallBackToTheGeneralPathAndItsMessages() throws Exception {
        byte[] truncated = golden("truncated.jpg");
        assertNull(JdkJpegDecoder.decode(truncated, ImageDecoder.DEFAULT_MAX_PIXELS, null));
        assertSameError(() -> decoder.decode(truncated, "t.jpg", null), () -> general.decode(truncated, "t.jpg", null));
        byte[] china = golden("china.jpg");
        byte[] cut = Arrays.copyOf(china, 2000);
        assertSameError(() -> decoder.decode(cut, "cut.jpg", null), () -> general.decode(cut, "cut.jpg", null));
        // Over the pixel limit: refused from the header by the general path's message.
        assertNull(JdkJpegDecoder.decode(china, 1000, null));
        // The per-thread reader still works after failures.
        assertSameAsGeneralPath(china, "china.jpg");
    }

    private static void assertSameError(Executable fast, Executable reference) {
        RadioException a = org.junit.jupiter.api.Assertions.assertThrows(RadioException.class, fast);
        RadioException b = org.junit.jupiter.api.Assertions.assertThrows(RadioException.class, reference);
        assertEquals(b.getMessage(), a.getMessage());
    }

    private static byte[] withAdobe(byte[] jpeg, int transform) {
        byte[] adobe = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, (byte) transform};
        return concat(Arrays.copyOfRange(jpeg, 0, 2), adobe, Arrays.copyOfRange(jpeg, 2, jpeg.length));
    }

    private static byte[] setSof(byte[] jpeg, int marker) {
        byte[] b = jpeg.clone();
        b[indexOf(b, 0xC0) + 1] = (byte) marker;
        return b;
    }

    /** Index of the 0xFF of the first marker {@code marker} among the header segments. */
    private static int indexOf(byte[] b, int marker) {
        int p = 2;
        while ((b[p + 1] & 0xFF) != marker) {
            p += 2 + (((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF));
        }
        return p;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
