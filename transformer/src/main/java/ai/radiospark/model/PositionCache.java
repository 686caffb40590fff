package ai.radiospark.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's position embeddings on its device, one tensor per patch grid (rows, cols): computed on
 * the JVM ({@link PositionEmbedding}) and uploaded once per grid instead of once per batch. At
 * most {@link #CAPACITY} grids are kept, least recently used first out (native resize mode sees
 * many sizes). A tensor evicted while a forward pass still uses it is freed when that pass releases
 * it; {@link #close} frees the rest (the model closes it with its manager).
 *
 * <p>Thread-safe: the forward lanes of a model share it.
 */
final class PositionCache implements AutoCloseable {
    /** Grids kept per model. */
    static final int CAPACITY = 16;

    private final PositionEmbedding table;
    private final NDManager manager;
    private final int capacity;
    private final LinkedHashMap<Long, Entry> entries;
    private long uploads;
    private boolean closed;

    /** A cached tensor and the forward passes using it. */
    static final class Entry {
        private final NDArray tensor;
        private int users;
        private boolean evicted;

        private Entry(NDArray tensor) {
            this.tensor = tensor;
        }

        /** The (rows·cols, d) float32 embedding on the model's device. */
        NDArray tensor() {
            return tensor;
        }
    }

    /**
     * @param table the JVM computation of the embedding
     * @param manager the model's manager; the cache's tensors live in a sub-manager of it
     * @param capacity grids kept
     */
    PositionCache(PositionEmbedding table, NDManager manager, int capacity) {
        this.table = table;
        this.manager = manager.newSubManager();
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(capacity, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Entry> eldest) {
                if (size() <= PositionCache.this.capacity) {
                    return false;
                }
                eldest.getValue().evicted = true;
                freeIfUnused(eldest.getValue());
                return true;
            }
        };
    }

    /**
     * The embedding for a grid, uploaded if it is not cached; the caller must {@link #release} it
     * when its forward pass has returned.
     */
    synchronized Entry acquire(int rows, int cols) {
        if (closed) {
            throw new IllegalStateException("position cache is closed");
        }
        long key = ((long) rows << 32) | cols;
        Entry e = entries.get(key);
        if (e == null) {
            e = new Entry(upload(rows, cols));
            uploads++;
            entries.put(key, e);
        }
        e.users++;
        return e;
    }

    /** Ends a forward pass's use of {@code e}. */
    synchronized void release(Entry e) {
        e.users--;
        freeIfUnused(e);
    }

    /** Tensors uploaded so far (each grid once while it stays cached). */
    synchronized long uploads() {
        return uploads;
    }

    /** Grids whose tensors are cached. */
    synchronized int size() {
        return entries.size();
    }

    private NDArray upload(int rows, int cols) {
        ByteBuffer values = NativeBuffers.of(table.forGrid(rows, cols));
        try (NDArray view = manager.create(values, new Shape((long) rows * cols, table.dim()), DataType.FLOAT32)) {
            // A copy that owns its memory: the view may share the direct buffer's, freed below.
            return view.duplicate();
        } finally {
            NativeBuffers.free(values);
        }
    }

    private void freeIfUnused(Entry e) {
        if ((e.evicted || closed) && e.users == 0 && !e.tensor.isReleased()) {
            e.tensor.close();
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Entry e : entries.values()) {
            freeIfUnused(e);
        }
        entries.clear();
        manager.close();
    }
}
