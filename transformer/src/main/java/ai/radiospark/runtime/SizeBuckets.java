package ai.radiospark.runtime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The buckets of one partition: decoded images wait here, across the partition's decoded batches,
 * until a forward pass of {@code batchSize} images that can share one pass can be made. Given the
 * model's patch size, a bucket holds the images of one token count (patch rows x patch columns),
 * whatever their input sizes: the transformer blocks see only (B, tokens, d), so 1024x768 and
 * 768x1024 (or any sizes with equal rows x cols) run in one pass, each patch-embedded on its own grid
 * ({@link ai.radiospark.model.RadioModel#forward(List, List, java.util.Set)}). Without a patch size,
 * or for a size that is not a multiple of it, a bucket holds one input size.
 *
 * <ul>
 *   <li>A bucket is sent (returned by {@link #add}) as soon as it holds {@code batchSize} images.
 *   <li>The pixels held in all buckets (height x width per image, summed) stay at most
 *       {@code heldBatches x batchSize x} the largest input: the larger of {@code largestInput} (what
 *       the resize mode allows, e.g. H x W in fixed mode and the cap squared in native modes) and the
 *       largest image added so far. The buckets stay at most {@code maxBuckets}. When an image takes
 *       either over, the fullest bucket (the oldest of equally full ones) is sent early, as often as
 *       needed.
 *   <li>{@link #drain} sends what is left, oldest bucket first, at the end of the partition.
 * </ul>
 *
 * <p>A sent group's items are in the order they were added, input sizes mixed; images of one input
 * size keep their order among themselves. Items that are not images (rows whose decode failed) ride
 * along: {@link #addPassenger} puts one in the bucket that took the previous item, so that when every
 * image has one size (fixed mode) the sent groups, passengers included, are the input in its order.
 * With no such bucket the passenger is sent alone at once.
 *
 * <p>Not thread-safe: one task thread uses it.
 *
 * @param <T> the items
 */
public final class SizeBuckets<T> {
    /**
     * One forward pass's worth: {@code images} images of one token count (or one input size) and any
     * passengers, all in {@code items} in the order they were added; {@code images} is 0 for a
     * passenger sent alone.
     */
    public record Group<T>(List<T> items, int images) {}

    private static final class Bucket<T> {
        final List<T> items = new ArrayList<>();
        int images;
        long pixels;

        Group<T> group() {
            return new Group<>(items, images);
        }
    }

    private final int batchSize;
    private final int heldBatches;
    private final int maxBuckets;
    private final int patchSize;
    private long largestInput;
    /** In creation order: the oldest first. */
    private final LinkedHashMap<Long, Bucket<T>> buckets = new LinkedHashMap<>();

    private Bucket<T> last;
    private long heldPixels;
    private int heldImages;

    /**
     * Buckets of one input size each.
     *
     * @param batchSize images per forward pass
     * @param heldBatches the pixels held are at most this many batches of the largest input
     * @param largestInput pixels (height x width) of the largest input the resize mode makes, or less
     * @param maxBuckets the bound on the buckets held
     */
    public SizeBuckets(int batchSize, int heldBatches, long largestInput, int maxBuckets) {
        this(batchSize, heldBatches, largestInput, maxBuckets, 0);
    }

    /**
     * Buckets of one token count each: {@link #SizeBuckets(int, int, long, int)} with the model's
     * {@code patchSize} (0: one input size per bucket).
     */
    public SizeBuckets(int batchSize, int heldBatches, long largestInput, int maxBuckets, int patchSize) {
        if (batchSize < 1 || heldBatches < 1 || largestInput < 1 || maxBuckets < 1 || patchSize < 0) {
            throw new IllegalArgumentException(
                    "batchSize, heldBatches, largestInput and maxBuckets must be positive, patchSize not negative: "
                            + batchSize + ", " + heldBatches + ", " + largestInput + ", " + maxBuckets + ", "
                            + patchSize);
        }
        this.batchSize = batchSize;
        this.heldBatches = heldBatches;
        this.largestInput = largestInput;
        this.maxBuckets = maxBuckets;
        this.patchSize = patchSize;
    }

    /**
     * The bucket of an input size: its token count (negative, to keep the two kinds of keys apart)
     * when both sides are multiples of the patch size, else the size itself.
     */
    private long key(int height, int width) {
        int p = patchSize;
        if (p > 0 && height % p == 0 && width % p == 0) {
            return -((long) (height / p) * (width / p));
        }
        return ((long) height << 32) | (width & 0xffffffffL);
    }

    /** The bound on the pixels held: heldBatches x batchSize x the largest input so far. */
    public long maxHeldPixels() {
        return (long) heldBatches * batchSize * largestInput;
    }

    /**
     * Adds an image of {@code height} x {@code width} to the bucket of its token count (or size);
     * returns the groups to send now, perhaps none.
     */
    public List<Group<T>> add(T item, int height, int width) {
        long key = key(height, width);
        Bucket<T> b = buckets.computeIfAbsent(key, k -> new Bucket<>());
        b.items.add(item);
        b.images++;
        b.pixels += (long) height * width;
        heldPixels += (long) height * width;
        heldImages++;
        largestInput = Math.max(largestInput, (long) height * width);
        last = b;
        List<Group<T>> out = new ArrayList<>(1);
        if (b.images >= batchSize) {
            out.add(remove(key));
        }
        while (!buckets.isEmpty() && (heldPixels > maxHeldPixels() || buckets.size() > maxBuckets)) {
            out.add(remove(fullest()));
        }
        return out;
    }

    /**
     * Adds an item that is not an image to the bucket of the previous item; returns it as a group to
     * send now when that bucket was sent already.
     */
    public List<Group<T>> addPassenger(T item) {
        if (last != null) {
            last.items.add(item);
            return List.of();
        }
        List<T> alone = new ArrayList<>(1);
        alone.add(item);
        return List.of(new Group<>(alone, 0));
    }

    /** Every bucket left, oldest first; afterwards none is held. */
    public List<Group<T>> drain() {
        List<Group<T>> out = new ArrayList<>(buckets.size());
        for (Bucket<T> b : buckets.values()) {
            out.add(b.group());
        }
        buckets.clear();
        last = null;
        heldPixels = 0;
        heldImages = 0;
        return out;
    }

    /** Pixels (height x width) of the images held. */
    public long heldPixels() {
        return heldPixels;
    }

    /** Images held. */
    public int heldImages() {
        return heldImages;
    }

    /** Buckets held. */
    public int buckets() {
        return buckets.size();
    }

    private long fullest() {
        long best = 0;
        int most = -1;
        for (Map.Entry<Long, Bucket<T>> e : buckets.entrySet()) {
            if (e.getValue().images > most) {
                most = e.getValue().images;
                best = e.getKey();
            }
        }
        return best;
    }

    private Group<T> remove(long key) {
        Bucket<T> b = buckets.remove(key);
        heldPixels -= b.pixels;
        heldImages -= b.images;
        if (last == b) {
            last = null;
        }
        return b.group();
    }
}
