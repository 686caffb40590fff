package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.radiospark.RadioException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
    private static byte[] golden(String file) throws Exception {
        return Files.readAllBytes(GoldenSafetensors.IMAGES.resolve(file));
    }

    private static int[] size(ImagePreprocessor p, int h, int w) {
        return p.outputSize(h, w);
    }

    @Test
    void fixedSize() {
        assertArrayEquals(new int[] {224, 224}, size(ImagePreprocessor.builder().build(), 427, 640));
        assertArrayEquals(
                new int[] {256, 192},
                size(ImagePreprocessor.builder().optSize(256, 192).build(), 10, 10));
    }

    @Test
    void shortestEdgeSizes() {
        ImagePreprocessor p = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.SHORTEST_EDGE)
                .optShortestEdge(224)
                .build();
        // 427 x 640: long side int(224 * 640 / 427) = 335, snapped down to 320.
        assertArrayEquals(new int[] {224, 320}, size(p, 427, 640));
        assertArrayEquals(new int[] {320, 224}, size(p, 640, 427));
        assertArrayEquals(new int[] {224, 224}, size(p, 500, 500));
        assertArrayEquals(new int[] {224, 448}, size(p, 50, 100)); // upscales too, like CLIP
        ImagePreprocessor odd = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.SHORTEST_EDGE)
                .optShortestEdge(200)
                .optPatchSize(14)
                .build();
        // short 200 -> 196 (14 patches of 14); long int(200 * 640 / 427) = 299 -> 294.
        assertArrayEquals(new int[] {196, 294}, size(odd, 427, 640));
    }

    @Test
    void nativeSizes() {
        ImagePreprocessor p =
                ImagePreprocessor.builder().optResizeMode(ResizeMode.NATIVE).build();
        // 640 x 427 capped at 512: 427 * 0.8 = 341.6 -> 21 patches = 336.
        assertArrayEquals(new int[] {336, 512}, size(p, 427, 640));
        assertArrayEquals(new int[] {512, 336}, size(p, 640, 427));
        // Smaller than the cap: snap its own size to the nearest multiple of 16.
        assertArrayEquals(new int[] {48, 96}, size(p, 50, 100));
        assertArrayEquals(new int[] {16, 16}, size(p, 5, 3)); // at least one patch
        assertArrayEquals(new int[] {512, 512}, size(p, 4000, 4000));
        // Rounding up would exceed the cap (504 = 31.5 patches): capped at 31 patches.
        ImagePreprocessor capped = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.NATIVE)
                .optMaxEdge(504)
                .build();
        assertArrayEquals(new int[] {496, 256}, size(capped, 1000, 500));
        ImagePreprocessor p14 = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.NATIVE)
                .optPatchSize(14)
                .optMaxEdge(448)
                .build();
        assertArrayEquals(new int[] {294, 448}, size(p14, 427, 640)); // 298.9 -> 21 * 14
    }

    @Test
    void nativeModeEndToEnd() throws Exception {
        ImagePreprocessor p =
                ImagePreprocessor.builder().optResizeMode(ResizeMode.NATIVE).build();
        PreprocessedImage img = p.preprocess(golden("china.jpg"), "china.jpg");
        assertEquals(336, img.height());
        assertEquals(512, img.width());
        assertEquals(427, img.originalHeight());
        assertEquals(640, img.originalWidth());
        assertEquals(3 * 336 * 512, img.pixelValues().length);
        DecodedImage d = new ImageDecoder(100_000_000, false).decode(golden("china.jpg"), "c", null);
        byte[] rgb = PillowBicubicResampler.resize(d.rgb(), 640, 427, 512, 336);
        int plane = 336 * 512;
        for (int i = 0; i < plane; i += 997) {
            assertEquals((rgb[3 * i + 1] & 0xFF) / 255f, img.pixelValues()[plane + i], 1e-7);
        }
    }

    @Test
    void resizeModeParsing() {
        assertEquals(ResizeMode.FIXED, ResizeMode.parse("fixed"));
        assertEquals(ResizeMode.SHORTEST_EDGE, ResizeMode.parse("shortest-edge"));
        assertEquals(ResizeMode.SHORTEST_EDGE, ResizeMode.parse("SHORTEST_EDGE"));
        assertEquals(ResizeMode.NATIVE, ResizeMode.parse(" Native "));
        RadioException e = assertThrows(RadioException.class, () -> ResizeMode.parse("diagonal"));
        assertTrue(e.getMessage().startsWith("Unknown resize mode 'diagonal'. Use one of: fixed"), e.getMessage());
        assertThrows(RadioException.class, () -> ResizeMode.parse(null));
    }

    private static String invalid(ImagePreprocessor.Builder b) {
        return assertThrows(RadioException.class, b::build).getMessage();
    }

    @Test
    void impossibleParametersAreRefused() {
        assertEquals(
                "Size 100x100 does not fit the patch size 16: the model needs height and width "
                        + "to be multiples of it. Use e.g. 112x112.",
                invalid(ImagePreprocessor.builder().optSize(100, 100)));
        assertTrue(invalid(ImagePreprocessor.builder().optSize(0, 224)).startsWith("Size 0x224 is impossible"));
        assertTrue(invalid(ImagePreprocessor.builder().optPatchSize(0)).startsWith("Patch size 0 is impossible"));
        assertTrue(invalid(ImagePreprocessor.builder().optMaxPixels(0)).startsWith("Max pixels 0 is impossible"));
        assertTrue(invalid(ImagePreprocessor.builder()
                        .optResizeMode(ResizeMode.NATIVE)
                        .optMaxEdge(8))
                .startsWith("Max edge 8 is impossible: it must be between the patch size 16 and 16384"));
        assertTrue(invalid(ImagePreprocessor.builder()
                        .optResizeMode(ResizeMode.SHORTEST_EDGE)
                        .optShortestEdge(-1))
                .startsWith("Shortest edge -1 is impossible"));
        assertTrue(invalid(ImagePreprocessor.builder().optResizeMode(null)).startsWith("Resize mode is null"));
    }

    @Test
    void writesIntoBatchBuffer() throws Exception {
        ImagePreprocessor p = ImagePreprocessor.builder().build();
        int n = 3 * 224 * 224;
        float[] batch = new float[2 * n + 5];
        PreprocessedImage a = p.preprocess(golden("chelsea.png"), "chelsea.png", batch, 5);
        PreprocessedImage b = p.preprocess(golden("tiny.bmp"), "tiny.bmp", batch, 5 + n);
        assertEquals(5, a.offset());
        assertEquals(batch, b.pixelValues());
        assertArrayEquals(p.preprocess(golden("chelsea.png"), "x").toArray(), a.toArray());
        assertArrayEquals(p.preprocess(golden("tiny.bmp"), "x").toArray(), b.toArray());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> p.preprocess(golden("tiny.bmp"), "tiny.bmp", batch, n + 6));
        assertTrue(e.getMessage().contains("need 150528 floats (3x224x224) at offset"), e.getMessage());
    }

    @Test
    void rescaleIsTransformersFloat32OfFloat64Product() throws Exception {
        float[] v = ImagePreprocessor.builder()
                .optSize(16, 16)
                .build()
                .preprocess(golden("chelsea.png"), "chelsea.png")
                .toArray();
        for (float f : v) {
            int q = Math.round(f * 255);
            assertEquals((float) (q * (1.0 / 255.0)), f);
            assertTrue(f >= 0 && f <= 1);
        }
    }

    @Test
    void concurrentUseGivesSameResults() throws Exception {
        ImagePreprocessor p = ImagePreprocessor.builder().build();
        String[] files = {
            "china.jpg",
            "chelsea.png",
            "camera.png",
            "cmyk.jpg",
            "tiny.bmp",
            "progressive.jpg",
            "palette.png",
            "rgba.png"
        };
        List<float[]> expected = new ArrayList<>();
        for (String f : files) {
            expected.add(p.preprocess(golden(f), f).toArray());
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 32; t++) {
                int i = t % files.length;
                results.add(pool.submit(() -> java.util.Arrays.equals(
                        expected.get(i),
                        p.preprocess(golden(files[i]), files[i]).toArray())));
            }
            for (Future<Boolean> r : results) {
                assertTrue(r.get());
            }
        } finally {
            pool.shutdown();
        }
    }

    /** A JPEG 40 wide x 20 high, left half red, right half blue, with EXIF orientation 6. */
    static byte[] jpegWithOrientation(int orientation) throws Exception {
        BufferedImage img = new BufferedImage(40, 20, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 40; x++) {
                img.setRGB(x, y, x < 20 ? 0xFF0000 : 0x0000FF);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpeg", out);
        byte[] jpeg = out.toByteArray();
        // TIFF: big-endian header, IFD0 at 8 with one entry: Orientation (0x0112), SHORT, 1 value.
        byte[] tiff = {
            'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0, 0, 0, 0, 0
        };
        ByteArrayOutputStream app1 = new ByteArrayOutputStream();
        int len = 2 + 6 + tiff.length;
        app1.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) (len >> 8), (byte) len, 'E', 'x', 'i', 'f', 0, 0});
        app1.writeBytes(tiff);
        // Insert after SOI + the JFIF APP0 segment.
        int app0Len = ((jpeg[4] & 0xFF) << 8) | (jpeg[5] & 0xFF);
        int at = 4 + app0Len;
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(jpeg, 0, at);
        all.writeBytes(app1.toByteArray());
        all.write(jpeg, at, jpeg.length - at);
        return all.toByteArray();
    }

    @Test
    void exifOrientationSixRotatesClockwise() throws Exception {
        byte[] jpeg = jpegWithOrientation(6);
        assertEquals(6, ExifOrientation.read(jpeg));
        DecodedImage off = new ImageDecoder(100_000_000, false).decode(jpeg, "o6.jpg", null);
        assertEquals(40, off.width());
        assertEquals(20, off.height());
        DecodedImage on = new ImageDecoder(100_000_000, true).decode(jpeg, "o6.jpg", null);
        assertEquals(20, on.width());
        assertEquals(40, on.height());
        assertEquals(20, on.originalWidth());
        assertEquals(40, on.originalHeight());
        // Rotated 90 degrees clockwise: the left (red) half is now on top.
        int top = (5 * 20 + 10) * 3;
        int bottom = (35 * 20 + 10) * 3;
        assertTrue((on.rgb()[top] & 0xFF) > 200 && (on.rgb()[top + 2] & 0xFF) < 50, "top is red");
        assertTrue((on.rgb()[bottom] & 0xFF) < 50 && (on.rgb()[bottom + 2] & 0xFF) > 200, "bottom is blue");
        ImagePreprocessor nat = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.NATIVE)
                .optExifOrientation(true)
                .build();
        PreprocessedImage p = nat.preprocess(jpeg, "o6.jpg");
        assertEquals(48, p.height()); // 40 -> 2.5 patches -> 3
        assertEquals(16, p.width());
        PreprocessedImage q = ImagePreprocessor.builder()
                .optResizeMode(ResizeMode.NATIVE)
                .build()
                .preprocess(jpeg, "o6.jpg");
        assertEquals(16, q.height());
        assertEquals(48, q.width());
    }

    @Test
    void allEightOrientations() {
        byte[] rgb = new byte[18];
        for (int i = 0; i < 6; i++) {
            rgb[3 * i] = (byte) i;
        }
        DecodedImage img = new DecodedImage(3, 2, rgb, 3, 2);
        int[][] expected = {
            {0, 1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}, {2, 1, 0, 5, 4, 3}, {5, 4, 3, 2, 1, 0},
            {3, 4, 5, 0, 1, 2}, {0, 3, 1, 4, 2, 5}, {3, 0, 4, 1, 5, 2}, {5, 2, 4, 1, 3, 0},
            {2, 5, 1, 4, 0, 3}
        };
        for (int o = 1; o <= 8; o++) {
            DecodedImage r = ExifOrientation.apply(img, o);
            assertEquals(o >= 5 ? 2 : 3, r.width(), "orientation " + o);
            int[] ids = new int[6];
            for (int i = 0; i < 6; i++) {
                ids[i] = r.rgb()[3 * i];
            }
            assertArrayEquals(expected[o], ids, "orientation " + o);
        }
    }

    @Test
    void decodeScaleParity() throws Exception {
        byte[] china = golden("china.jpg");
        float[] ref = GoldenSafetensors.read(GoldenSafetensors.GOLDEN.resolve("images-pixel-values-224.safetensors"))
                .get("china.jpg")
                .data();
        // At 224x224 china.jpg (640x427) is less than 2x the output: factor 1, identical results.
        ImagePreprocessor scaled =
                ImagePreprocessor.builder().optDecodeScale(true).build();
        assertEquals(1, scaled.subsampling(640, 427));
        assertArrayEquals(
                ImagePreprocessor.builder().build().preprocess(china, "c").toArray(),
                scaled.preprocess(china, "c").toArray());
        // Forced 2x subsampling (what a 2x larger photo would get) against the reference.
        DecodedImage half = new ImageDecoder(100_000_000, false).decode(china, "c", (w, h) -> 2);
        assertEquals(320, half.width());
        assertEquals(214, half.height());
        byte[] rgb = PillowBicubicResampler.resize(half.rgb(), 320, 214, 224, 224);
        float[] mine = new float[3 * 224 * 224];
        for (int i = 0; i < 224 * 224; i++) {
            for (int c = 0; c < 3; c++) {
                mine[c * 224 * 224 + i] = (rgb[3 * i + c] & 0xFF) / 255f;
            }
        }
        double[] e = GoldenPixelValuesTest.maxMean(mine, ref);
        System.out.printf(Locale.ROOT, "DECODESCALE china.jpg 224 subsampling 2: max %.4f mean %.3e%n", e[0], e[1]);
        // 112x112: factor 427 / 112 = 3 against the exact pipeline.
        ImagePreprocessor exact112 =
                ImagePreprocessor.builder().optSize(112, 112).build();
        ImagePreprocessor scaled112 = ImagePreprocessor.builder()
                .optSize(112, 112)
                .optDecodeScale(true)
                .build();
        assertEquals(3, scaled112.subsampling(640, 427));
        double[] e112 = GoldenPixelValuesTest.maxMean(
                exact112.preprocess(china, "c").toArray(),
                scaled112.preprocess(china, "c").toArray());
        System.out.printf(
                Locale.ROOT,
                "DECODESCALE china.jpg 112 subsampling 3 vs exact: " + "max %.4f mean %.3e%n",
                e112[0],
                e112[1]);
        assertTrue(e[1] > 1e-4, "subsampling changes results");
        assertTrue(e[1] < 0.05 && e112[1] < 0.05);
    }
}
