package ai.radiospark.ml;

import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM's long-lived threads that run forward passes, one per concurrent task slot.
 *
 * <p>Why not the task thread: PyTorch keeps native state per calling thread (allocator arenas,
 * OpenMP teams, thread settings). Spark's task threads come and go (an idle pool thread dies after
 * 60 s), and each new thread that calls the model leaves tens of MB of native memory behind:
 * measured +50 to +100 MB of RSS per new calling thread on tiny-vit, flat when the same thread
 * keeps calling. Running every forward on these threads keeps native memory flat across tasks and
 * stages, and lets the intra-op thread cap (per calling thread under OpenMP) stick.
 */
final class ForwardThreads {
  private static final AtomicInteger N = new AtomicInteger();
  private static ThreadPoolExecutor pool;

  private ForwardThreads() {}

  /** Runs {@code forward} on a forward thread with PyTorch capped at {@code torchThreads} intra-op threads. */
  static <T> Future<T> submit(int slots, int torchThreads, Callable<T> forward) {
    return pool(slots).submit(() -> {
      if (torchThreads > 0 && JniUtils.getNumThreads() != torchThreads) {
        JniUtils.setNumThreads(torchThreads);
      }
      return forward.call();
    });
  }

  private static synchronized ThreadPoolExecutor pool(int slots) {
    int size = Math.max(1, slots);
    if (pool == null) {
      pool = new ThreadPoolExecutor(size, size, 1, TimeUnit.DAYS, new LinkedBlockingQueue<>(), r -> {
        Thread t = new Thread(r, "radio-forward-" + N.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    } else if (size > pool.getMaximumPoolSize()) {
      pool.setMaximumPoolSize(size);
      pool.setCorePoolSize(size);
    }
    return pool;
  }

  /** Forward threads started in this JVM so far (for tests). */
  static int threadsStarted() {
    return N.get();
  }
}
