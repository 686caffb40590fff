package ai.radiospark.ml;

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
import ai.radiospark.runtime.ExecutorModelCache;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

/**
 * Device selection from a fake task resource map and GPU count, and the model cache per GPU, on
 * the CPU: no SparkContext, no GPU.
 */
class DeviceSelectorTest {
    static Map<String, ResourceInformation> gpus(String... addresses) {
        return Map.of("gpu", new ResourceInformation("gpu", addresses));
    }

    static final Map<String, ResourceInformation> NONE = Map.of();

    static IntSupplier sees(int n) {
        return () -> n;
    }

    /** A GPU count that must not be asked for. */
    static final IntSupplier NEVER = () -> {
        throw new AssertionError("device=cpu must not ask PyTorch for GPUs");
    };

    @Test
    void cpuIsAlwaysCpu() {
        assertEquals(Device.cpu(), DeviceSelector.select("cpu", NONE, NEVER));
        assertEquals(Device.cpu(), DeviceSelector.select("cpu", gpus("1"), NEVER));
        assertEquals(Device.cpu(), DeviceSelector.select(" CPU ", gpus("0"), NEVER));
    }

    @Test
    void assignedGpuIsUsed() {
        assertEquals(Device.gpu(0), DeviceSelector.select("gpu", gpus("0"), sees(2)));
        assertEquals(Device.gpu(1), DeviceSelector.select("gpu", gpus("1"), sees(2)));
        assertEquals(Device.gpu(1), DeviceSelector.select("auto", gpus("1"), sees(2)));
        assertEquals(Device.gpu(1), DeviceSelector.select(null, gpus("1"), sees(2)));
        assertEquals(Device.gpu(3), DeviceSelector.select("gpu", gpus("3", "2"), sees(4)), "the first of several");
    }

    @Test
    void autoWithoutGpuFallsBackToCpu() {
        assertEquals(Device.cpu(), DeviceSelector.select("auto", NONE, sees(0)));
        assertEquals(Device.cpu(), DeviceSelector.select("auto", gpus(), sees(0)), "a gpu entry with no addresses");
        assertEquals(Device.cpu(), DeviceSelector.select("auto", null, sees(0)));
    }

    @Test
    void unscheduledVisibleGpuIsGpu0() {
        assertEquals(Device.gpu(0), DeviceSelector.select("auto", NONE, sees(2)));
        assertEquals(Device.gpu(0), DeviceSelector.select("gpu", NONE, sees(1)));
    }

    @Test
    void gpuWithoutGpuNamesTheSettings() {
        RadioException e = assertThrows(RadioException.class, () -> DeviceSelector.select("gpu", NONE, sees(0)));
        String m = e.getMessage();
        assertTrue(m.startsWith("device=gpu, but this executor's PyTorch sees no GPU and Spark assigned none"), m);
        assertTrue(m.contains("spark.executor.resource.gpu.amount=1"), m);
        assertTrue(m.contains("spark.task.resource.gpu.amount="), m);
        assertTrue(m.contains("spark.executor.resource.gpu.discoveryScript"), m);
        assertTrue(m.contains("CUDA build of libtorch 2.7.1"), m);
        assertTrue(m.contains("-Pcuda"), m);
        assertTrue(m.contains("device=auto"), m);
    }

    @Test
    void assignedGpuWithCpuLibtorchFailsEvenForAuto() {
        for (String d : new String[] {"auto", "gpu"}) {
            RadioException e = assertThrows(RadioException.class, () -> DeviceSelector.select(d, gpus("0"), sees(0)));
            assertTrue(
                    e.getMessage()
                            .startsWith("Spark assigned GPU 0 to this task (device=" + d + "), but this "
                                    + "executor's PyTorch sees no GPU"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("CUDA build of libtorch"), e.getMessage());
        }
    }

    @Test
    void badAddresses() {
        RadioException e = assertThrows(RadioException.class, () -> DeviceSelector.select("gpu", gpus("2"), sees(2)));
        assertTrue(e.getMessage().contains("PyTorch sees only 2 GPU(s)"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA_VISIBLE_DEVICES"), e.getMessage());
        e = assertThrows(RadioException.class, () -> DeviceSelector.select("auto", gpus("GPU-5d2c8a1e-0000"), sees(1)));
        assertTrue(e.getMessage().contains("CUDA device indices"), e.getMessage());
        e = assertThrows(RadioException.class, () -> DeviceSelector.select("tpu", NONE, sees(1)));
        assertTrue(e.getMessage().contains("Use auto, cpu or gpu"), e.getMessage());
    }

    @Test
    void realEngineOnThisMachineSeesNoGpuWithoutCrashing() {
        // the CPU-only libtorch: no CUDA capability, so 0 GPUs, and the check itself does not throw
        assertEquals(0, DeviceSelector.pytorchGpus());
        assertEquals(Device.cpu(), DeviceSelector.forTask("auto")); // no TaskContext here
    }

    /**
     * Runs {@code tasks} concurrent fake tasks, each with its resource map, through device selection
     * and the model cache with a builder that records the devices it is asked for (building a CPU
     * model: there is no GPU here). Returns the builder's devices.
     */
    static List<Device> runTasks(
            String sha, List<Map<String, ResourceInformation>> tasks, int visibleGpus, List<RadioModel> models)
            throws Exception {
        RadioWeights w = Checkpoint.open(Golden.checkpoint("tiny-vit")).weights();
        List<Device> built = new CopyOnWriteArrayList<>();
        AtomicInteger fetches = new AtomicInteger();
        ExecutorModelCache.Builder builder = (weights, device, dtype) -> {
            built.add(device);
            return RadioModel.builder().optDType(dtype).build(weights);
        };
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<RadioModel>> fs = new ArrayList<>();
            for (Map<String, ResourceInformation> res : tasks) {
                fs.add(pool.submit(() -> {
                    start.await();
                    Device d = DeviceSelector.select("auto", res, () -> visibleGpus);
                    return ExecutorModelCache.get(
                                    sha,
                                    d,
                                    ModelDType.FLOAT32,
                                    () -> {
                                        fetches.incrementAndGet();
                                        return w;
                                    },
                                    builder)
                            .model();
                }));
            }
            start.countDown();
            for (Future<RadioModel> f : fs) {
                models.add(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(built.size(), fetches.get(), "the broadcast is fetched once per model built");
        return built;
    }

    @Test
    void fractionalSharingBuildsOneModelPerGpu() throws Exception {
        // spark.task.resource.gpu.amount=0.25: four concurrent tasks all get address "0"
        String sha = "share-" + System.nanoTime();
        List<RadioModel> models = new ArrayList<>();
        List<Device> built = runTasks(sha, List.of(gpus("0"), gpus("0"), gpus("0"), gpus("0")), 1, models);
        assertEquals(List.of(Device.gpu(0)), built);
        for (RadioModel m : models) {
            assertSame(models.get(0), m);
        }
        assertTrue(
                ExecutorModelCache.key(sha, Device.gpu(0), ModelDType.FLOAT32).contains("gpu(0)"));
    }

    @Test
    void twoGpusTwoCacheEntries() throws Exception {
        // two GPUs, 0.5 each: tasks on "0" and "1", two per GPU
        String sha = "two-" + System.nanoTime();
        List<RadioModel> models = new ArrayList<>();
        int before = ExecutorModelCache.size();
        List<Device> built = runTasks(sha, List.of(gpus("0"), gpus("1"), gpus("1"), gpus("0")), 2, models);
        assertEquals(2, built.size());
        assertTrue(built.contains(Device.gpu(0)) && built.contains(Device.gpu(1)), built.toString());
        assertEquals(before + 2, ExecutorModelCache.size());
        assertSame(models.get(0), models.get(3), "tasks on gpu(0) share a model");
        assertSame(models.get(1), models.get(2), "tasks on gpu(1) share a model");
        assertTrue(models.get(0) != models.get(1), "one model per GPU");
    }

    @Test
    void noGpuTasksShareTheCpuModel() throws Exception {
        String sha = "cpu-" + System.nanoTime();
        List<RadioModel> models = new ArrayList<>();
        List<Device> built = runTasks(sha, List.of(NONE, NONE, NONE), 0, models);
        assertEquals(List.of(Device.cpu()), built);
    }
}
