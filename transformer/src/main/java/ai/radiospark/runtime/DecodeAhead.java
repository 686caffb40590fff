package ai.radiospark.runtime;

import ai.radiospark.RadioException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded decode-ahead queue between a task's input rows and its forward passes.
 *
 * <p>The caller's thread pulls input (Spark's iterators are not thread-safe, so only it touches
 * them) and submits each item to a pool of {@code threads} decoder threads. {@link #next} hands
 * out the next batch in input order; before waiting for that batch's decodes it tops the queue up
 * to {@code batchesAhead} further batches, so batches N+1..N+K decode while the caller runs the
 * model on batch N, and a decode is never started later than it could be without exceeding the
 * bound. At most {@code (batchesAhead + 1) * batchSize} items are pulled and not yet finished with
 * (K queued plus the batch being computed), whatever the partition size.
 *
 * @param <I> input items (rows)
 * @param <D> decoded values (pixels)
 */
public final class DecodeAhead<I, D> implements AutoCloseable {
    /** Decodes one item; runs on a decoder thread. */
    public interface Decoder<I, D> {
        D decode(I item, long index) throws Exception;
    }

    /** One input item and its decoded value, or why it could not be decoded. */
    public record Item<I, D>(I input, long index, D value, Throwable error) {}

    private record Pending<I, D>(I input, long index, Future<D> value) {}

    private final Iterator<I> input;
    private final int batchSize;
    private final int maxQueued;
    private final int threads;
    private final String threadTag;
    private final Decoder<I, D> decoder;
    private final Runnable checkKilled;
    private final ArrayDeque<Pending<I, D>> queued = new ArrayDeque<>();
    private ThreadPoolExecutor pool;
    private long pulled;
    private long waitNanos;

    /**
     * @param batchSize items per batch
     * @param batchesAhead K: batches queued for decoding beyond the one being computed (at least 1)
     * @param threads decoder threads
     * @param threadTag names the decoder threads (radio-decode-TAG-n)
     * @param checkKilled called every 100 ms while waiting (throws to stop a killed task)
     */
    public DecodeAhead(
            Iterator<I> input,
            int batchSize,
            int batchesAhead,
            int threads,
            String threadTag,
            Decoder<I, D> decoder,
            Runnable checkKilled) {
        if (batchSize < 1 || batchesAhead < 1 || threads < 1) {
            throw new IllegalArgumentException("batchSize, batchesAhead and threads must be positive: " + batchSize
                    + ", " + batchesAhead + ", " + threads);
        }
        this.input = input;
        this.batchSize = batchSize;
        this.maxQueued = Math.multiplyExact(batchesAhead, batchSize);
        this.threads = threads;
        this.threadTag = threadTag;
        this.decoder = decoder;
        this.checkKilled = checkKilled;
    }

    /** Pulls input and submits it for decoding until K batches are queued or the input ends. */
    void fill() {
        while (queued.size() < maxQueued && input.hasNext()) {
            I item = input.next();
            long i = pulled++;
            queued.add(new Pending<>(item, i, pool().submit(() -> decoder.decode(item, i))));
        }
    }

    /** True when nothing is queued and the input has ended (after {@link #fill}). */
    public boolean isDone() {
        fill();
        return queued.isEmpty();
    }

    /**
     * The next batch (up to batchSize items, in input order, each decoded or with its error), or an
     * empty list at the end of the input. The following K batches are queued for decoding before
     * this waits for its own decodes.
     */
    public List<Item<I, D>> next() {
        fill();
        int n = Math.min(batchSize, queued.size());
        List<Pending<I, D>> batch = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            batch.add(queued.poll());
        }
        fill(); // batches N+1..N+K decode while batch N is awaited and computed
        List<Item<I, D>> out = new ArrayList<>(n);
        long w0 = System.nanoTime();
        for (Pending<I, D> p : batch) {
            out.add(await(p));
        }
        waitNanos += System.nanoTime() - w0;
        return out;
    }

    /** Items pulled from the input so far. */
    long pulled() {
        return pulled;
    }

    /** Items pulled and queued for decoding, not yet handed out by {@link #next}. */
    int queued() {
        return queued.size();
    }

    /** Time {@link #next} spent waiting for decodes: the time the model waited for input. */
    public long waitNanos() {
        return waitNanos;
    }

    private Item<I, D> await(Pending<I, D> p) {
        while (true) {
            try {
                return new Item<>(p.input(), p.index(), p.value().get(100, TimeUnit.MILLISECONDS), null);
            } catch (TimeoutException e) {
                checkKilled.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                checkKilled.run();
                throw new RadioException("Interrupted while decoding images; the task was cancelled.", e);
            } catch (ExecutionException e) {
                return new Item<>(p.input(), p.index(), null, e.getCause() == null ? e : e.getCause());
            }
        }
    }

    private ThreadPoolExecutor pool() {
        if (pool == null) {
            AtomicInteger n = new AtomicInteger();
            pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "radio-decode-" + threadTag + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    /** Stops the decoders (interrupting running decodes) and drops what is queued. */
    @Override
    public void close() {
        ThreadPoolExecutor p = pool;
        if (p != null) {
            p.shutdownNow();
        }
        queued.clear();
    }
}
