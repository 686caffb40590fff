package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS, false);

    private static byte[] golden(String file) throws IOException {
        return Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file));
    }

    @Test
    void chosenReaders() {
        assertEquals("com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReader", ImageFormat.JPEG.readerClassName());
        assertEquals("com.sun.imageio.plugins.png.PNGImageReader", ImageFormat.PNG.readerClassName());
        assertEquals("com.sun.imageio.plugins.gif.GIFImageReader", ImageFormat.GIF.readerClassName());
        assertEquals("com.twelvemonkeys.imageio.plugins.bmp.BMPImageReader", ImageFormat.BMP.readerClassName());
        assertEquals("com.twelvemonkeys.imageio.plugins.webp.WebPImageReader", ImageFormat.WEBP.readerClassName());
        assertEquals("com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReader", ImageFormat.TIFF.readerClassName());
    }

    @Test
    void truncatedJpegIsRefused() throws Exception {
        RadioException e = assertThrows(
                RadioException.class, () -> decoder.decode(golden("truncated.jpg"), "truncated.jpg", null));
        System.out.println("REFUSAL truncated.jpg: " + e.getMessage());
        assertTrue(e.getMessage().contains("truncated.jpg"), e.getMessage());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void jpegCutAfterHeaderIsRefused() throws Exception {
        byte[] all = golden("china.jpg");
        for (int cut : new int[] {700, all.length / 3, all.length - 10}) {
            byte[] part = java.util.Arrays.copyOf(all, cut);
            RadioException e =
                    assertThrows(RadioException.class, () -> decoder.decode(part, "cut.jpg", null), "cut at " + cut);
            assertTrue(e.getMessage().contains("cut.jpg"), e.getMessage());
        }
    }

    @Test
    void textFileNamedJpgIsRefused() throws Exception {
        RadioException e = assertThrows(
                RadioException.class, () -> decoder.decode(golden("not-an-image.jpg"), "not-an-image.jpg", null));
        System.out.println("REFUSAL not-an-image.jpg: " + e.getMessage());
        assertTrue(
                e.getMessage()
                        .startsWith("Cannot decode image not-an-image.jpg: its content is "
                                + "not a JPEG, PNG, GIF, BMP, WebP or TIFF image (first bytes: "),
                e.getMessage());
    }

    @Test
    void emptyInputIsRefused() {
        RadioException e = assertThrows(RadioException.class, () -> decoder.decode(new byte[0], "empty.png", null));
        System.out.println("REFUSAL empty.png: " + e.getMessage());
        assertTrue(e.getMessage().contains("empty.png: the file is empty (0 bytes)"), e.getMessage());
    }

    @Test
    void truncatedPngIsRefused() throws Exception {
        byte[] all = golden("chelsea.png");
        byte[] part = java.util.Arrays.copyOf(all, all.length / 2);
        RadioException e = assertThrows(RadioException.class, () -> decoder.decode(part, "half.png", null));
        System.out.println("REFUSAL half.png: " + e.getMessage());
        assertTrue(e.getMessage().contains("half.png"), e.getMessage());
    }

    static byte[] pngHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(width)
                .putInt(height)
                .put((byte) 8)
                .put((byte) 2)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** A baseline JPEG whose SOF0 claims width x height, taken from a real file. */
    static byte[] jpegWithDeclaredSize(byte[] jpeg, int width, int height) {
        byte[] b = jpeg.clone();
        for (int p = 2; p + 9 < b.length; ) {
            int marker = b[p + 1] & 0xFF;
            int len = ((b[p + 2] & 0xFF) << 8) | (b[p + 3] & 0xFF);
            if (marker == 0xC0 || marker == 0xC2) {
                b[p + 5] = (byte) (height >> 8);
                b[p + 6] = (byte) height;
                b[p + 7] = (byte) (width >> 8);
                b[p + 8] = (byte) width;
                return b;
            }
            p += 2 + len;
        }
        throw new AssertionError("no SOF");
    }

    @Test
    void hugePngHeaderIsRefusedBeforeDecoding() {
        byte[] png = pngHeaderOnly(60000, 60000);
        RadioException e = assertTimeoutPreemptively(
                Duration.ofSeconds(2),
                () -> assertThrows(RadioException.class, () -> decoder.decode(png, "bomb.png", null)));
        System.out.println("REFUSAL bomb.png: " + e.getMessage());
        assertTrue(e.getMessage().contains("bomb.png"), e.getMessage());
        assertTrue(e.getMessage().contains("60000x60000 = 3,600,000,000 pixels"), e.getMessage());
        assertTrue(e.getMessage().contains("limit of 100,000,000 pixels"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .endsWith("Downscale the image, or raise the limit: --max-pixels of radio extract or "
                                + "radio preprocess, maxPixels of RadioEmbedder or ImagePreprocessor."),
                e.getMessage());
    }

    @Test
    void hugeJpegHeaderIsRefusedBeforeDecoding() throws Exception {
        byte[] jpeg = jpegWithDeclaredSize(golden("china.jpg"), 60000, 60000);
        RadioException e = assertTimeoutPreemptively(
                Duration.ofSeconds(2),
                () -> assertThrows(RadioException.class, () -> decoder.decode(jpeg, "bomb.jpg", null)));
        assertTrue(e.getMessage().contains("bomb.jpg: its header declares 60000x60000"), e.getMessage());
    }

    @Test
    void pixelLimitIsConfigurable() throws Exception {
        ImageDecoder small = new ImageDecoder(640L * 427 - 1, false);
        RadioException e =
                assertThrows(RadioException.class, () -> small.decode(golden("china.jpg"), "china.jpg", null));
        assertTrue(e.getMessage().contains("limit of 273,279 pixels"), e.getMessage());
        assertEquals(
                640,
                new ImageDecoder(640L * 427, false)
                        .decode(golden("china.jpg"), "china.jpg", null)
                        .width());
    }

    @Test
    void gray16IsScaledToEightBits() throws Exception {
        byte[] bytes = golden("gray16.png");
        BufferedImage raw = ImageIO.read(new java.io.ByteArrayInputStream(bytes));
        assertEquals(16, raw.getColorModel().getComponentSize(0));
        DecodedImage img = decoder.decode(bytes, "gray16.png", null);
        assertEquals(320, img.width());
        assertEquals(214, img.height());
        int[] samples = raw.getRaster().getSamples(0, 0, 320, 214, 0, (int[]) null);
        int nonTrivial = 0;
        for (int i = 0; i < samples.length; i++) {
            int expected = (int) Math.round(samples[i] / 257.0);
            int r = img.rgb()[3 * i] & 0xFF;
            assertEquals(expected, r, "pixel " + i + " (16-bit value " + samples[i] + ")");
            assertEquals(r, img.rgb()[3 * i + 1] & 0xFF);
            assertEquals(r, img.rgb()[3 * i + 2] & 0xFF);
            if (samples[i] % 257 != 0) {
                nonTrivial++;
            }
        }
        System.out.println("gray16.png: samples not multiples of 257: " + nonTrivial);
    }

    @Test
    void sixteenBitPngWithArbitrarySamples() throws Exception {
        BufferedImage img = new BufferedImage(256, 4, BufferedImage.TYPE_USHORT_GRAY);
        int[] values = new int[256 * 4];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i * 977 + 13) % 65536;
        }
        img.getRaster().setSamples(0, 0, 256, 4, 0, values);
        DecodedImage d = decoder.decode(write(img, "png"), "synthetic16.png", null);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Math.round(values[i] / 257.0), d.rgb()[3 * i] & 0xFF, "sample " + values[i]);
            assertEquals(d.rgb()[3 * i], d.rgb()[3 * i + 2]);
        }
    }

    @Test
    void sixteenBitRounding() {
        assertEquals(0, RasterToRgb.to8(0));
        assertEquals(0, RasterToRgb.to8(128));
        assertEquals(1, RasterToRgb.to8(129));
        assertEquals(255, RasterToRgb.to8(65535));
        for (int v = 0; v <= 65535; v++) {
            assertEquals(Math.round(v / 257.0), RasterToRgb.to8(v), "v=" + v);
        }
    }

    /** A 12x10 image with few colours, so GIF's palette keeps it exactly. */
    static BufferedImage pattern(int type) {
        BufferedImage img = new BufferedImage(12, 10, type);
        int[] colours = {0xFFFF0000, 0xFF00FF00, 0xFF0000FF, 0xFFFFFFFF, 0xFF000000, 0xFF804020};
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 12; x++) {
                img.setRGB(x, y, colours[(x / 2 + y) % colours.length]);
            }
        }
        return img;
    }

    static void assertPattern(DecodedImage d) {
        BufferedImage p = pattern(BufferedImage.TYPE_INT_RGB);
        assertEquals(12, d.width());
        assertEquals(10, d.height());
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 12; x++) {
                int i = (y * 12 + x) * 3;
                int rgb = ((d.rgb()[i] & 0xFF) << 16) | ((d.rgb()[i + 1] & 0xFF) << 8) | (d.rgb()[i + 2] & 0xFF);
                assertEquals(p.getRGB(x, y) & 0xFFFFFF, rgb, "pixel " + x + "," + y);
            }
        }
    }

    private byte[] write(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
        return out.toByteArray();
    }

    @Test
    void gifRoundTrip() throws Exception {
        byte[] gif = write(pattern(BufferedImage.TYPE_INT_RGB), "gif");
        assertEquals(ImageFormat.GIF, ImageFormat.sniff(gif));
        assertPattern(decoder.decode(gif, "p.gif", null));
    }

    @Test
    void tiffRoundTrip() throws Exception {
        byte[] tiff = write(pattern(BufferedImage.TYPE_INT_RGB), "tiff");
        assertEquals(ImageFormat.TIFF, ImageFormat.sniff(tiff));
        assertPattern(decoder.decode(tiff, "p.tiff", null));
    }

    @Test
    void bmpRoundTrip() throws Exception {
        byte[] bmp = write(pattern(BufferedImage.TYPE_3BYTE_BGR), "bmp");
        assertEquals(ImageFormat.BMP, ImageFormat.sniff(bmp));
        assertPattern(decoder.decode(bmp, "p.bmp", null));
    }

    @Test
    void pngLayoutsRoundTrip() throws Exception {
        for (int type : new int[] {
            BufferedImage.TYPE_INT_RGB,
            BufferedImage.TYPE_INT_ARGB,
            BufferedImage.TYPE_3BYTE_BGR,
            BufferedImage.TYPE_4BYTE_ABGR,
            BufferedImage.TYPE_INT_BGR
        }) {
            assertPattern(decoder.decode(write(pattern(type), "png"), "p.png", null));
        }
    }

    @Test
    void inMemoryLayoutsConvertLikePillow() {
        for (int type : new int[] {
            BufferedImage.TYPE_INT_RGB,
            BufferedImage.TYPE_INT_ARGB,
            BufferedImage.TYPE_INT_BGR,
            BufferedImage.TYPE_3BYTE_BGR,
            BufferedImage.TYPE_4BYTE_ABGR,
            BufferedImage.TYPE_4BYTE_ABGR_PRE
        }) {
            BufferedImage img = pattern(type);
            assertPattern(new DecodedImage(12, 10, RasterToRgb.convert(img), 12, 10));
        }
        // Gray: raw sample replicated, no gamma conversion.
        BufferedImage gray = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 100);
        gray.getRaster().setSample(1, 0, 0, 200);
        assertArrayEquals(new byte[] {100, 100, 100, (byte) 200, (byte) 200, (byte) 200}, RasterToRgb.convert(gray));
        BufferedImage gray16 = new BufferedImage(1, 1, BufferedImage.TYPE_USHORT_GRAY);
        gray16.getRaster().setSample(0, 0, 0, 200 * 257 + 128);
        assertArrayEquals(new byte[] {(byte) 200, (byte) 200, (byte) 200}, RasterToRgb.convert(gray16));
        // Palette with transparency: alpha dropped, palette colour kept.
        IndexColorModel icm = new IndexColorModel(
                8, 2, new byte[] {10, 20}, new byte[] {30, 40}, new byte[] {50, 60}, new byte[] {0, (byte) 255});
        BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, icm);
        indexed.getRaster().setSample(0, 0, 0, 0);
        indexed.getRaster().setSample(1, 0, 0, 1);
        assertArrayEquals(new byte[] {10, 30, 50, 20, 40, 60}, RasterToRgb.convert(indexed));
        // 1-bit binary goes through the generic path.
        BufferedImage binary = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_BINARY);
        binary.getRaster().setSample(1, 0, 0, 1);
        assertArrayEquals(
                new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255, 0, 0, 0}, RasterToRgb.convert(binary));
    }

    @Test
    void jpegColourSpaceFromMarkers() throws Exception {
        assertEquals(JpegColourSpace.YCBCR, JpegColourSpace.of(golden("china.jpg")));
        assertEquals(JpegColourSpace.YCBCR, JpegColourSpace.of(golden("progressive.jpg")));
        assertEquals(JpegColourSpace.GRAY, JpegColourSpace.of(golden("gray.jpg")));
        assertEquals(JpegColourSpace.OTHER, JpegColourSpace.of(golden("cmyk.jpg")));
        assertEquals(JpegColourSpace.OTHER, JpegColourSpace.of(new byte[] {(byte) 0xFF, (byte) 0xD8}));
    }

    /** The raw-raster fast path equals what the reader's own read() + conversion gives. */
    @Test
    void jpegFastPathEqualsReaderConversion() throws Exception {
        for (String file : new String[] {"china.jpg", "progressive.jpg", "gray.jpg"}) {
            byte[] bytes = golden(file);
            javax.imageio.ImageReader reader = ImageFormat.JPEG.newReader();
            reader.setInput(new com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream(bytes));
            byte[] viaRead = RasterToRgb.convert(reader.read(0));
            reader.dispose();
            assertArrayEquals(viaRead, decoder.decode(bytes, file, null).rgb(), file);
        }
    }

    @Test
    void cmykFormulaIsPillows() {
        assertEquals(255, RasterToRgb.cmykChannel(0, 255));
        assertEquals(0, RasterToRgb.cmykChannel(255, 255));
        assertEquals(0, RasterToRgb.cmykChannel(0, 0));
        assertEquals(128, RasterToRgb.cmykChannel(0, 128));
        assertEquals(64, RasterToRgb.cmykChannel(128, 128)); // 128 - round(128 * 128 / 255)
    }

    @Test
    void webpIsDecoded() throws Exception {
        byte[] webp = Files.readAllBytes(GoldenSafetensors.SAMPLES.resolve("pattern-8x6-lossless.webp"));
        assertEquals(ImageFormat.WEBP, ImageFormat.sniff(webp));
        DecodedImage d = decoder.decode(webp, "pattern.webp", null);
        assertEquals(8, d.width());
        assertEquals(6, d.height());
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                int i = (y * 8 + x) * 3;
                assertEquals(x * 30, d.rgb()[i] & 0xFF);
                assertEquals(y * 40, d.rgb()[i + 1] & 0xFF);
                assertEquals((x * 7 + y * 11) % 256, d.rgb()[i + 2] & 0xFF);
            }
        }
    }
}
