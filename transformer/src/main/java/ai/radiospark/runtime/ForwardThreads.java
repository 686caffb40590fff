package ai.radiospark.runtime;

import ai.radiospark.model.TorchEngine;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM's long-lived threads that run forward passes: per device, a fixed number of lanes, each
 * lane one thread running one forward pass at a time. Tasks queue their batches here in arrival
 * order.
 *
 * <p>Why lanes instead of the task threads:
 * <ul>
 *   <li>Native memory. PyTorch keeps native state per calling thread (allocator arenas, OpenMP
 *       teams, thread settings). Spark's task threads come and go (an idle pool thread dies after
 *       60 s), and each new thread that calls the model leaves tens of MB of native memory behind:
 *       measured +50 to +100 MB of RSS per new calling thread on tiny-vit, flat when the same
 *       thread keeps calling. Lanes keep native memory flat across tasks and stages, and let the
 *       intra-op thread cap (per calling thread under OpenMP) stick.
 *   <li>Throughput. On a GPU there is one lane per device (concurrent passes only contend for
 *       it). On CPU there are executor cores / torch threads lanes
 *       ({@link ai.radiospark.model.DevicePlan#lanes}):
 *       measured in the extract pipeline on 2 cores, two 1-thread lanes ran 5-10% faster than one
 *       2-thread lane (probably because a pass's OpenMP threads wait for each other whenever a
 *       decoder thread takes one of their cores). Each task
 *       keeps 2-3 batches queued here, so the lanes stay busy while tasks decode, and the last task
 *       of a stage still fills every lane.
 * </ul>
 */
public final class ForwardThreads {
    private static final AtomicInteger N = new AtomicInteger();
    private static final Map<String, ThreadPoolExecutor> POOLS = new HashMap<>();

    private ForwardThreads() {}

    /**
     * Runs {@code forward} on one of {@code lanes} forward threads of {@code device}, with PyTorch
     * capped at {@code torchThreads} intra-op threads (0: leave PyTorch's setting).
     */
    public static <T> Future<T> submit(String device, int lanes, int torchThreads, Callable<T> forward) {
        return pool(device, lanes).submit(() -> {
            if (torchThreads > 0 && TorchEngine.intraOpThreads() != torchThreads) {
                TorchEngine.setIntraOpThreads(torchThreads);
            }
            return forward.call();
        });
    }

    private static synchronized ThreadPoolExecutor pool(String device, int lanes) {
        int size = Math.max(1, lanes);
        ThreadPoolExecutor pool = POOLS.get(device);
        if (pool == null) {
            pool = new ThreadPoolExecutor(size, size, 1, TimeUnit.DAYS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "radio-forward-" + device + "-" + N.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            POOLS.put(device, pool);
        } else if (size > pool.getMaximumPoolSize()) {
            pool.setMaximumPoolSize(size);
            pool.setCorePoolSize(size);
        }
        return pool;
    }

    /** The lanes of {@code device} in this JVM, 0 if it has none yet (for tests). */
    public static synchronized int lanes(String device) {
        ThreadPoolExecutor pool = POOLS.get(device);
        return pool == null ? 0 : pool.getMaximumPoolSize();
    }
}
