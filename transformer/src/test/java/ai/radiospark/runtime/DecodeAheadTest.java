package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The decode-ahead queue: bounded, in order, and decoding the next batches while one computes. */
class DecodeAheadTest {
    static final Runnable NO_KILL = () -> {};

    /** 0, 1, 2, ... without end: a partition far larger than anything should hold. */
    static Iterator<Long> endless() {
        return LongStream.iterate(0, i -> i + 1).iterator();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void neverMoreThanKBatchesAheadOfASlowForward() {
        int b = 8;
        int k = 2;
        AtomicInteger decodedNotDone = new AtomicInteger(); // decoded values alive: decoded, not yet computed
        AtomicInteger maxAlive = new AtomicInteger();
        try (DecodeAhead<Long, Long> q = new DecodeAhead<>(
                endless(),
                b,
                k,
                3,
                "test",
                (item, i) -> {
                    sleep(ThreadLocalRandom.current().nextInt(3));
                    maxAlive.accumulateAndGet(decodedNotDone.incrementAndGet(), Math::max);
                    return item;
                },
                NO_KILL)) {
            long done = 0;
            for (int batch = 0; batch < 40; batch++) {
                List<DecodeAhead.Item<Long, Long>> items = q.next();
                assertEquals(b, items.size());
                long pulledAhead = q.pulled() - (done + b);
                assertTrue(
                        pulledAhead <= (long) k * b,
                        "pulled " + pulledAhead + " items beyond this batch; K*B = " + k * b);
                assertTrue(q.queued() <= k * b);
                sleep(15); // the slow forward: decoders run ahead as far as the bound lets them
                assertEquals((long) k * b, q.pulled() - (done + b), "the queue is kept full while the forward runs");
                done += b;
                decodedNotDone.addAndGet(-b);
            }
            assertEquals(40L * b + (long) k * b, q.pulled(), "the endless input is read only K batches ahead");
            assertTrue(maxAlive.get() <= (k + 1) * b, "decoded and not computed at once: " + maxAlive.get());
        }
    }

    @Test
    void rowsComeOutInInputOrderWithRandomDecodeLatency() {
        int n = 503;
        int b = 7;
        List<String> input = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            input.add("row" + i);
        }
        try (DecodeAhead<String, String> q = new DecodeAhead<>(
                input.iterator(),
                b,
                2,
                4,
                "test",
                (item, i) -> {
                    sleep(ThreadLocalRandom.current().nextInt(6)); // later rows often finish first
                    if (i % 50 == 13) {
                        throw new IllegalArgumentException("bad " + item);
                    }
                    return item.toUpperCase();
                },
                NO_KILL)) {
            List<DecodeAhead.Item<String, String>> out = new ArrayList<>();
            List<Integer> sizes = new ArrayList<>();
            for (List<DecodeAhead.Item<String, String>> batch = q.next(); !batch.isEmpty(); batch = q.next()) {
                sizes.add(batch.size());
                out.addAll(batch);
            }
            assertEquals(n, out.size());
            for (int i = 0; i < n; i++) {
                DecodeAhead.Item<String, String> it = out.get(i);
                assertEquals(i, it.index());
                assertEquals("row" + i, it.input());
                if (i % 50 == 13) {
                    assertNull(it.value());
                    assertEquals("bad row" + i, it.error().getMessage(), "the error stays with its row");
                } else {
                    assertNull(it.error());
                    assertEquals("ROW" + i, it.value());
                }
            }
            assertEquals(n / b + 1, sizes.size());
            assertEquals(n % b, sizes.get(sizes.size() - 1), "only the last batch is short");
            assertTrue(q.next().isEmpty(), "stays ended");
        }
    }

    @Test
    void nextBatchesDecodeWhileOneComputes() {
        // decode 20 ms per image on 4 threads, forward 250 ms per batch of 4: from the second batch on,
        // every image is decoded before the model asks for it, so the model never waits for input.
        int b = 4;
        Map<Long, Long> decodedAt = new ConcurrentHashMap<>();
        List<Long> askedAt = new ArrayList<>();
        List<Long> input = LongStream.range(0, 6 * b).boxed().toList();
        try (DecodeAhead<Long, Long> q = new DecodeAhead<>(
                input.iterator(),
                b,
                2,
                4,
                "test",
                (item, i) -> {
                    sleep(20);
                    decodedAt.put(i, System.nanoTime());
                    return item;
                },
                NO_KILL)) {
            long waitAfterFirst = 0;
            for (int batch = 0; batch < 6; batch++) {
                long w0 = q.waitNanos();
                askedAt.add(System.nanoTime());
                List<DecodeAhead.Item<Long, Long>> items = q.next();
                assertEquals(b, items.size());
                if (batch > 0) {
                    waitAfterFirst += q.waitNanos() - w0;
                    for (DecodeAhead.Item<Long, Long> it : items) {
                        assertTrue(
                                decodedAt.get(it.index()) < askedAt.get(batch),
                                "image " + it.index() + " was still decoding when batch " + batch + " was asked for");
                    }
                }
                sleep(250); // the forward
            }
            assertTrue(
                    waitAfterFirst < 50_000_000L,
                    "waited " + waitAfterFirst / 1_000_000 + " ms for input after the " + "first batch");
        }
    }

    @Test
    void closeStopsTheDecoders() throws Exception {
        AtomicLong interrupted = new AtomicLong();
        AtomicInteger started = new AtomicInteger();
        DecodeAhead<Long, Long> q = new DecodeAhead<>(
                endless(),
                2,
                2,
                2,
                "test",
                (item, i) -> {
                    started.incrementAndGet();
                    try {
                        Thread.sleep(60_000);
                    } catch (InterruptedException e) {
                        interrupted.incrementAndGet();
                        throw e;
                    }
                    return item;
                },
                NO_KILL);
        q.fill();
        long t0 = System.nanoTime();
        while (started.get() < 2 && System.nanoTime() - t0 < 10_000_000_000L) {
            sleep(5);
        }
        q.close();
        t0 = System.nanoTime();
        while (interrupted.get() < 2 && System.nanoTime() - t0 < 10_000_000_000L) {
            sleep(5);
        }
        assertEquals(2, interrupted.get(), "both running decodes interrupted");
        assertEquals(0, q.queued());
    }
}
