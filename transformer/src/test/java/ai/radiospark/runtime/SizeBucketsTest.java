package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The size buckets: full buckets sent, the pixel bound, passengers, the order with one size; with a patch size,
 * sizes of one token count (transposed sizes) share a bucket.
 */
class SizeBucketsTest {
    @Test
    void aFullBucketIsSentAndTheRestAtTheEnd() {
        SizeBuckets<Integer> b = new SizeBuckets<>(3, 4, 10 * 10, 16);
        assertEquals(List.of(), b.add(0, 10, 10));
        assertEquals(List.of(), b.add(1, 8, 10));
        assertEquals(List.of(), b.add(2, 10, 10));
        List<SizeBuckets.Group<Integer>> sent = b.add(3, 10, 10);
        assertEquals(List.of(new SizeBuckets.Group<>(List.of(0, 2, 3), 3)), sent);
        assertEquals(1, b.heldImages());
        assertEquals(80, b.heldPixels());
        assertEquals(List.of(), b.add(4, 8, 10));
        assertEquals(List.of(), b.add(5, 6, 6));
        assertEquals(
                List.of(new SizeBuckets.Group<>(List.of(1, 4), 2), new SizeBuckets.Group<>(List.of(5), 1)), b.drain());
        assertEquals(0, b.heldImages());
        assertEquals(0, b.heldPixels());
        assertEquals(List.of(), b.drain());
    }

    /** Over the pixel bound, the fullest bucket is sent early (the oldest of equally full ones). */
    @Test
    void thePixelBoundSendsTheFullestBucket() {
        // batch 4, 2 batches of 10x10: at most 800 pixels held
        SizeBuckets<String> b = new SizeBuckets<>(4, 2, 100, 16);
        assertEquals(800, b.maxHeldPixels());
        b.add("a1", 10, 10);
        b.add("b1", 10, 8);
        b.add("a2", 10, 10);
        b.add("b2", 10, 8);
        b.add("c1", 10, 6);
        b.add("a3", 10, 10);
        assertEquals(520, b.heldPixels());
        b.add("b3", 10, 8);
        assertEquals(600, b.heldPixels());
        b.add("c2", 10, 6);
        // 660 + 90 = 750: still under
        assertEquals(List.of(), b.add("d1", 10, 9));
        // b is full (4 images) and sent: 750 + 80 - 320 = 510, under the bound
        List<SizeBuckets.Group<String>> sent = b.add("b4", 10, 8);
        assertEquals(List.of(new SizeBuckets.Group<>(List.of("b1", "b2", "b3", "b4"), 4)), sent);
        assertEquals(510, b.heldPixels());
        b.add("g1", 9, 11);
        b.add("g2", 9, 11);
        // 708 + 99 = 807 > 800: a and g hold 3 images each; a is the older
        sent = b.add("g3", 9, 11);
        assertEquals(List.of(new SizeBuckets.Group<>(List.of("a1", "a2", "a3"), 3)), sent);
        assertEquals(507, b.heldPixels());
        assertTrue(b.heldPixels() <= b.maxHeldPixels());
    }

    /** A larger image than the declared largest input raises the bound: never fewer than a batch of it. */
    @Test
    void theBoundFollowsTheLargestImage() {
        SizeBuckets<Integer> b = new SizeBuckets<>(2, 1, 10, 16);
        assertEquals(List.of(), b.add(0, 100, 100));
        assertEquals(20_000, b.maxHeldPixels());
        assertEquals(1, b.add(1, 100, 100).size());
    }

    @Test
    void theBucketCountIsBounded() {
        SizeBuckets<Integer> b = new SizeBuckets<>(16, 100, 100, 3);
        b.add(0, 1, 1);
        b.add(1, 1, 1);
        b.add(2, 2, 2);
        b.add(3, 3, 3);
        List<SizeBuckets.Group<Integer>> sent = b.add(4, 4, 4);
        assertEquals(List.of(new SizeBuckets.Group<>(List.of(0, 1), 2)), sent);
        assertEquals(3, b.buckets());
    }

    /** Failed rows ride with the bucket of the row before them; with one size the groups are the input in order. */
    @Test
    void passengersKeepTheOrderWhenEveryImageHasOneSize() {
        SizeBuckets<Integer> b = new SizeBuckets<>(4, 1, 224 * 224, 16);
        List<Integer> out = new ArrayList<>();
        List<Integer> failed = List.of(0, 5, 7, 8, 13, 19);
        for (int i = 0; i < 20; i++) {
            for (SizeBuckets.Group<Integer> g : failed.contains(i) ? b.addPassenger(i) : b.add(i, 224, 224)) {
                assertTrue(g.images() == 4 || g.images() == 0, g.toString());
                out.addAll(g.items());
            }
        }
        b.drain().forEach(g -> out.addAll(g.items()));
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add(i);
        }
        assertEquals(expected, out);
    }

    /** With patch 16, 64x48 and 48x64 (4x3 and 3x4 patches) share a bucket; 64x64 (16 patches) has its own. */
    @Test
    void transposedSizesShareABucket() {
        SizeBuckets<String> b = new SizeBuckets<>(3, 4, 64 * 64, 16, 16);
        assertEquals(List.of(), b.add("l1", 64, 48));
        assertEquals(List.of(), b.add("s1", 64, 64));
        assertEquals(List.of(), b.add("p1", 48, 64));
        assertEquals(2, b.buckets());
        assertEquals(2 * 64 * 48 + 64 * 64, b.heldPixels());
        assertEquals(List.of(new SizeBuckets.Group<>(List.of("l1", "p1", "l2"), 3)), b.add("l2", 64, 48));
        assertEquals(64 * 64, b.heldPixels());
        assertEquals(1, b.heldImages());
        // 96x32 also has 12 patches (6x2): any sizes of one token count share
        b.add("w1", 96, 32);
        b.addPassenger("failed");
        assertEquals(
                List.of(new SizeBuckets.Group<>(List.of("s1"), 1), new SizeBuckets.Group<>(List.of("w1", "failed"), 1)),
                b.drain());
        // Without a patch size, or off the patch grid, a bucket holds one size.
        SizeBuckets<String> exact = new SizeBuckets<>(3, 4, 64 * 64, 16);
        exact.add("l1", 64, 48);
        exact.add("p1", 48, 64);
        assertEquals(2, exact.buckets());
        SizeBuckets<String> offGrid = new SizeBuckets<>(3, 4, 64 * 64, 16, 16);
        offGrid.add("a", 60, 48);
        offGrid.add("b", 48, 60);
        offGrid.add("c", 64, 45);
        assertEquals(3, offGrid.buckets());
    }

    /** A bucket of several sizes counts each image's own pixels: the fullest is sent at the bound. */
    @Test
    void thePixelBoundCountsEachSizeInAMixedBucket() {
        // batch 4, 1 batch of 64x64 at most: 16,384 pixels
        SizeBuckets<String> b = new SizeBuckets<>(4, 1, 64 * 64, 16, 16);
        b.add("l1", 64, 48); // 3,072
        b.add("p1", 48, 64); // 6,144
        b.add("w1", 96, 32); // 9,216, the same bucket: 12 patches
        b.add("s1", 64, 64); // 13,312
        assertEquals(13_312, b.heldPixels());
        List<SizeBuckets.Group<String>> sent = b.add("t1", 32, 112); // 14 patches: 16,896 > 16,384
        assertEquals(List.of(new SizeBuckets.Group<>(List.of("l1", "p1", "w1"), 3)), sent);
        assertEquals(64 * 64 + 32 * 112, b.heldPixels());
        assertTrue(b.heldPixels() <= b.maxHeldPixels());
    }

    /**
     * 2,000 images of 50 sizes in random order, batch 16: the pixels held never exceed the bound, every image
     * comes out once, each group of one size (patch 0) or one token count (patch 16), images of one size in input
     * order, and passes hold at least half a batch on average.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 16})
    void twoThousandImagesOfFiftySizesStayBounded(int patch) {
        int[][] sizes = new int[50][];
        for (int k = 0; k < 50; k++) {
            sizes[k] = new int[] {16 * (1 + k % 10), 16 * (1 + (k * 3) % 14)};
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            order.add(i % 50);
        }
        Collections.shuffle(order, new Random(3));
        SizeBuckets<Integer> b = new SizeBuckets<>(16, 4, 224 * 224, 64, patch);
        long maxHeld = 0;
        int passes = 0;
        int[] lastOfSize = new int[50];
        java.util.Arrays.fill(lastOfSize, -1);
        boolean[] seen = new boolean[2000];
        List<SizeBuckets.Group<Integer>> all = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            int[] s = sizes[order.get(i)];
            all.addAll(b.add(i, s[0], s[1]));
            maxHeld = Math.max(maxHeld, b.heldPixels());
            assertTrue(b.heldPixels() <= 4L * 16 * 224 * 224, "held " + b.heldPixels());
        }
        all.addAll(b.drain());
        for (SizeBuckets.Group<Integer> g : all) {
            passes++;
            assertTrue(g.images() >= 1 && g.images() <= 16);
            int[] first = sizes[order.get(g.items().get(0))];
            for (int i : g.items()) {
                int k = order.get(i);
                if (patch == 0) {
                    assertTrue(sizes[k][0] == first[0] && sizes[k][1] == first[1], "one size per group");
                } else {
                    assertEquals(first[0] * first[1], sizes[k][0] * sizes[k][1], "one token count per group");
                }
                assertTrue(!seen[i], "image " + i + " twice");
                seen[i] = true;
                assertTrue(i > lastOfSize[k], "size " + k + " out of order");
                lastOfSize[k] = i;
            }
        }
        for (boolean s : seen) {
            assertTrue(s);
        }
        System.out.printf(
                "2000 images of 50 sizes, patch %d: %d passes (%.2f images per pass), held at most %d pixels of %d%n",
                patch, passes, 2000.0 / passes, maxHeld, b.maxHeldPixels());
        assertTrue(2000.0 / passes >= 8, passes + " passes");
    }
}
