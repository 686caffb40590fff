package ai.radiospark.runtime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-input-size buckets of one partition: decoded images wait here, across the partition's
 * decoded batches, until a forward pass of {@code batchSize} images of one input size can be made.
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
 * <p>Items that are not images (rows whose decode failed) ride along: {@link #addPassenger} puts
 * one in the bucket that took the previous item, so that when every image has one size (fixed
 * mode) the sent groups, passengers included, are the input in its order. With no such bucket the
 * passenger is sent alone at once.
 *
 * <p>Not thread-safe: one task thread uses it.
 *
 * @param <T> the items
 */
public final class SizeBuckets<T> {
    /**
     * One forward pass's worth: {@code images} images of {@code height} x {@code width} and any
     * passengers, all in {@code items} in the order they were added; height and width are 0 for a
     * passenger sent alone.
     */
    public record Group<T>(int height, int width, List<T> items, int images) {}

    private static final class Bucket<T> {
        final int height;
        final int width;
        final List<T> items = new ArrayList<>();
        int images;

        Bucket(int height, int width) {
            this.height = height;
            this.width = width;
        }

        Group<T> group() {
            return new Group<>(height, width, items, images);
        }
    }

    private final int batchSize;
    private final int heldBatches;
    private final int maxBuckets;
    private long largestInput;
    /** In creation order: the oldest first. */
    private final LinkedHashMap<Long, Bucket<T>> buckets = new LinkedHashMap<>();

    private Bucket<T> last;
    private long heldPixels;
    private int heldImages;

    /**
     * @param batchSize images per forward pass
     * @param heldBatches the pixels held are at most this many batches of the largest input
     * @param largestInput pixels (height x width) of the largest input the resize mode makes, or less
     * @param maxBuckets the bound on the buckets held
     */
    public SizeBuckets(int batchSize, int heldBatches, long largestInput, int maxBuckets) {
        if (batchSize < 1 || heldBatches < 1 || largestInput < 1 || maxBuckets < 1) {
            throw new IllegalArgumentException("batchSize, heldBatches, largestInput and maxBuckets must be positive: "
                    + batchSize + ", " + heldBatches + ", " + largestInput + ", " + maxBuckets);
        }
        this.batchSize = batchSize;
        this.heldBatches = heldBatches;
        this.largestInput = largestInput;
        this.maxBuckets = maxBuckets;
    }

    /** The bound on the pixels held: heldBatches x batchSize x the largest input so far. */
    public long maxHeldPixels() {
        return (long) heldBatches * batchSize * largestInput;
    }

    /** Adds an image of {@code height} x {@code width}; returns the groups to send now, perhaps none. */
    public List<Group<T>> add(T item, int height, int width) {
        long key = ((long) height << 32) | (width & 0xffffffffL);
        Bucket<T> b = buckets.computeIfAbsent(key, k -> new Bucket<>(height, width));
        b.items.add(item);
        b.images++;
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
        return List.of(new Group<>(0, 0, alone, 0));
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
        heldPixels -= (long) b.height * b.width * b.images;
        heldImages -= b.images;
        if (last == b) {
            last = null;
        }
        return b.group();
    }
}
