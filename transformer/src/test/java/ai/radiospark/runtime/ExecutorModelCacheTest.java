package ai.radiospark.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.Golden;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioModel;
import ai.radiospark.model.RadioWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The executor-side model cache and device resolution, without Spark. */
class ExecutorModelCacheTest {
    @Test
    void concurrentTasksBuildOnce() throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-swiglu")).weights();
        String key = "test-" + System.nanoTime(); // a key no other test uses
        long before = ExecutorModelCache.builds();
        AtomicInteger weightFetches = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<ExecutorModelCache.Lease>> leases = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                leases.add(pool.submit(() -> {
                    start.await();
                    return ExecutorModelCache.get(key, Device.cpu(), ModelDType.FLOAT32, () -> {
                        weightFetches.incrementAndGet();
                        return w;
                    });
                }));
            }
            start.countDown();
            RadioModel first = leases.get(0).get().model();
            int built = 0;
            for (Future<ExecutorModelCache.Lease> f : leases) {
                assertSame(first, f.get().model());
                built += f.get().built() ? 1 : 0;
            }
            assertEquals(1, built);
            assertEquals(1, weightFetches.get(), "only the builder fetches the broadcast");
            assertEquals(before + 1, ExecutorModelCache.builds());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void failedBuildIsNotCached() {
        String key = "broken-" + System.nanoTime();
        assertThrows(
                RadioException.class,
                () -> ExecutorModelCache.get(key, Device.cpu(), ModelDType.FLOAT32, () -> {
                    throw new RadioException("no weights");
                }));
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-swiglu")).weights();
        assertTrue(ExecutorModelCache.get(key, Device.cpu(), ModelDType.FLOAT32, () -> w)
                .built());
    }
}
