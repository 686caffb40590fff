package ai.radiospark.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** {@code native-buckets}: the documented shapes, and the one picked for each aspect ratio. */
class NativeBucketsTest {
    private static final ImagePreprocessor PRE = ImagePreprocessor.builder()
            .optResizeMode(ResizeMode.parse("native-buckets"))
            .optMaxEdge(512)
            .build();

    /** {height, width} for an image of width x height. */
    private static int[] pick(int width, int height) {
        return PRE.outputSize(height, width);
    }

    @Test
    void shapesAt512AreTheDocumentedOnes() {
        int[][] shapes = ImagePreprocessor.bucketShapes(512, 16);
        // square, 4:3, 3:4, 3:2, 2:3, 16:9, 9:16 as {height, width}
        int[][] expected = {{512, 512}, {384, 512}, {512, 384}, {336, 512}, {512, 336}, {288, 512}, {512, 288}};
        assertEquals(expected.length, shapes.length);
        for (int k = 0; k < expected.length; k++) {
            assertArrayEquals(expected[k], shapes[k], "shape " + k);
        }
        // 224 and patch 14: the longer side snapped down to 224, the shorter to the nearest multiple of 14.
        assertArrayEquals(new int[] {168, 224}, ImagePreprocessor.bucketShapes(224, 14)[1]);
        assertArrayEquals(new int[] {126, 224}, ImagePreprocessor.bucketShapes(224, 14)[5]);
        // A cap that is not a multiple of the patch: snapped down.
        assertArrayEquals(new int[] {500 / 16 * 16, 500 / 16 * 16}, ImagePreprocessor.bucketShapes(500, 16)[0]);
    }

    @Test
    void eachAspectRatioPicksItsShape() {
        assertArrayEquals(new int[] {512, 512}, pick(800, 800));
        assertArrayEquals(new int[] {512, 512}, pick(100, 100)); // small images are scaled up
        assertArrayEquals(new int[] {384, 512}, pick(640, 480));
        assertArrayEquals(new int[] {384, 512}, pick(1024, 768));
        assertArrayEquals(new int[] {512, 384}, pick(480, 640));
        assertArrayEquals(new int[] {336, 512}, pick(1500, 1000));
        assertArrayEquals(new int[] {512, 336}, pick(333, 500));
        assertArrayEquals(new int[] {288, 512}, pick(1920, 1080));
        assertArrayEquals(new int[] {288, 512}, pick(1200, 675));
        assertArrayEquals(new int[] {512, 288}, pick(1080, 1920));
        // Beyond the widest shape: still the widest.
        assertArrayEquals(new int[] {288, 512}, pick(4000, 1000));
        assertArrayEquals(new int[] {512, 288}, pick(1000, 4000));
    }

    /** The boundaries are the geometric means of neighbouring ratios (nearest in log aspect ratio). */
    @Test
    void boundariesAreGeometricMeans() {
        // between 1:1 and 4:3 at sqrt(4/3) = 1.1547: 1154/1000 is square, 1156/1000 is 4:3
        assertArrayEquals(new int[] {512, 512}, pick(1154, 1000));
        assertArrayEquals(new int[] {384, 512}, pick(1156, 1000));
        // between 4:3 and 3:2 at sqrt(2) = 1.4142
        assertArrayEquals(new int[] {384, 512}, pick(1414, 1000));
        assertArrayEquals(new int[] {336, 512}, pick(1415, 1000));
        // between 3:2 and 16:9 at sqrt(8/3) = 1.6330
        assertArrayEquals(new int[] {336, 512}, pick(1632, 1000));
        assertArrayEquals(new int[] {288, 512}, pick(1634, 1000));
        // and the same, turned
        assertArrayEquals(new int[] {512, 384}, pick(1000, 1156));
        assertArrayEquals(new int[] {512, 336}, pick(1000, 1415));
        assertArrayEquals(new int[] {512, 288}, pick(1000, 1634));
    }

    /** The pixels are the exact resize to the picked shape: the same as fixed mode at that size. */
    @Test
    void pixelsAreTheFixedResizeToTheShape() throws Exception {
        BufferedImage img = new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 200; y++) {
            for (int x = 0; x < 300; x++) {
                img.setRGB(x, y, (x * 7) << 16 | (y * 5) << 8 | (x + y));
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        PreprocessedImage b = PRE.preprocess(png.toByteArray(), "3x2.png");
        assertEquals(336, b.height());
        assertEquals(512, b.width());
        PreprocessedImage f =
                ImagePreprocessor.builder().optSize(336, 512).build().preprocess(png.toByteArray(), "3x2.png");
        assertArrayEquals(f.toArray(), b.toArray());
        assertEquals("native-buckets", ResizeMode.NATIVE_BUCKETS.cliName());
        assertEquals(ResizeMode.NATIVE_BUCKETS, ResizeMode.parse("NATIVE_BUCKETS"));
    }
}
