package ai.radiospark.ml;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.radiospark.RadioException;
import ai.radiospark.runtime.ExecutorModelCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which device a task's model runs on, from the {@code device} param, the GPUs Spark's resource
 * scheduling assigned to the task ({@code TaskContext.resources().get("gpu").addresses()}) and the
 * number of GPUs this JVM's PyTorch sees. Pure apart from {@link #forTask}: tests pass a fake
 * resource map and GPU count.
 *
 * <ul>
 *   <li>{@code cpu}: always the CPU.
 *   <li>{@code gpu} or {@code auto} with a GPU assigned by Spark: {@code gpu(address)} (the first
 *       address when a task has several). With a fractional spark.task.resource.gpu.amount (e.g.
 *       0.25) several concurrent tasks get the same address and so share one cached model per GPU
 *       per JVM ({@link ExecutorModelCache} keys on the device). A GPU assigned but invisible to
 *       PyTorch (the CPU-only libtorch) is an error for auto too: the user asked Spark for GPUs, and
 *       a silent CPU fallback would run ~100x slower.
 *   <li>no GPU assigned but PyTorch sees some: in local mode (a GPU workstation) every GPU, the
 *       task's partition picking {@code gpu(partition % GPUs)}, each GPU with its own model and
 *       lanes; on a cluster without GPU scheduling {@code gpu(0)} (executors sharing a host would
 *       otherwise each build a model on every GPU). Logged once per JVM.
 *   <li>no GPU at all: {@code auto} falls back to the CPU with one log line per JVM; {@code gpu}
 *       fails with a {@link RadioException} naming the Spark settings and the CUDA libtorch.
 * </ul>
 *
 * <p>{@link #prebuildDevices} decides, from the same inputs, the devices local mode builds the model
 * on before its tasks start: exactly the devices the tasks then select, never a CPU model for tasks
 * that use a GPU.
 */
public final class DeviceSelector {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceSelector.class);
    private static final AtomicBoolean LOGGED_CPU = new AtomicBoolean();
    private static final AtomicBoolean LOGGED_UNSCHEDULED = new AtomicBoolean();
    private static final AtomicBoolean LOGGED_SEVERAL = new AtomicBoolean();

    /** What to set up for GPUs, for error messages. */
    static final String GPU_SETUP = "Run on GPU executors: spark.executor.resource.gpu.amount=1, "
            + "spark.task.resource.gpu.amount=0.25 (4 tasks share each GPU; 1 for one task per GPU) and "
            + "spark.executor.resource.gpu.discoveryScript=./get-gpus-resources.sh (see conf/spark-defaults-gpu.conf), "
            + "with the CUDA build of libtorch 2.7.1 (flavor cu128) on the executors instead of pytorch-native-cpu "
            + "(build with mvn -Pcuda and set PYTORCH_FLAVOR=cu128; README, GPU clusters)";

    private DeviceSelector() {}

    /** The device for the current task: its Spark GPU resources and the GPUs PyTorch sees. */
    static Device forTask(String device) {
        TaskContext ctx = TaskContext.get();
        Map<String, ResourceInformation> resources = ctx == null ? Map.of() : ctx.resourcesJMap();
        int spread = ctx != null && localMode() ? ctx.partitionId() : -1;
        try {
            return select(device, resources, DeviceSelector::pytorchGpus, spread);
        } catch (RadioException e) {
            GpuCount.Answer a = gpuCount;
            if (a != null && a.gpus() == 0 && a.reason() != null) {
                throw new RadioException(e.getMessage() + " Why PyTorch sees no GPU: " + a.reason(), e);
            }
            throw e;
        }
    }

    /**
     * The device for a task.
     *
     * @param device the param: auto, cpu or gpu (null = auto)
     * @param resources the task's resources by name (Spark's {@code TaskContext.resourcesJMap()})
     * @param visibleGpus GPUs this JVM's PyTorch can use; only called when the answer matters (never
     *     for cpu), so device=cpu does not load the engine
     */
    static Device select(String device, Map<String, ResourceInformation> resources, IntSupplier visibleGpus) {
        return select(device, resources, visibleGpus, -1);
    }

    /**
     * The device for a task, spreading local mode's tasks over its GPUs.
     *
     * @param spreadIndex in local mode the task's partition (>= 0): with no GPU assigned by Spark it
     *     picks {@code gpu(spreadIndex % GPUs)}, so that every local GPU is used; -1 elsewhere:
     *     {@code gpu(0)}
     */
    static Device select(
            String device, Map<String, ResourceInformation> resources, IntSupplier visibleGpus, int spreadIndex) {
        String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("auto") && !d.equals("cpu") && !d.equals("gpu")) {
            throw new RadioException("Unknown device \"" + device + "\". Use auto, cpu or gpu.");
        }
        if (d.equals("cpu")) {
            return Device.cpu();
        }
        ResourceInformation gpu = resources == null ? null : resources.get("gpu");
        String[] addresses = gpu == null ? new String[0] : gpu.addresses();
        if (addresses.length > 0) {
            int index = parseAddress(addresses[0]);
            int gpus = visibleGpus.getAsInt();
            if (gpus == 0) {
                throw new RadioException(
                        "Spark assigned GPU " + addresses[0] + " to this task (device=" + d + "), but this "
                                + "executor's PyTorch sees no GPU: it loaded the CPU-only libtorch, or the CUDA driver is missing. "
                                + GPU_SETUP + ".");
            }
            if (index >= gpus) {
                throw new RadioException(
                        "Spark assigned GPU " + addresses[0] + " to this task, but PyTorch sees only " + gpus
                                + " GPU(s) (0.." + (gpus - 1)
                                + "). The discovery script's addresses must be CUDA device indices as "
                                + "this executor sees them: check spark.executor.resource.gpu.discoveryScript and CUDA_VISIBLE_DEVICES.");
            }
            if (addresses.length > 1 && LOGGED_SEVERAL.compareAndSet(false, true)) {
                LOG.info(
                        "Spark assigned GPUs {} to a task; RadioEmbedder uses one GPU per task ({}). Set "
                                + "spark.task.resource.gpu.amount to 1 or less.",
                        Arrays.toString(addresses),
                        addresses[0]);
            }
            return Device.gpu(index);
        }
        int gpus = visibleGpus.getAsInt();
        if (gpus > 0 && spreadIndex >= 0) {
            if (LOGGED_UNSCHEDULED.compareAndSet(false, true)) {
                LOG.info(
                        "device={}: local mode, PyTorch sees {} GPU(s); each task uses gpu(partition % {}), each GPU its "
                                + "own model.",
                        d, gpus, gpus);
            }
            return Device.gpu(spreadIndex % gpus);
        }
        if (gpus > 0) {
            if (LOGGED_UNSCHEDULED.compareAndSet(false, true)) {
                LOG.info(
                        "device={}: Spark assigned no GPU to this task, PyTorch sees {}; using gpu(0). Set "
                                + "spark.executor.resource.gpu.amount and spark.task.resource.gpu.amount to spread tasks over GPUs.",
                        d,
                        gpus);
            }
            return Device.gpu(0);
        }
        if (d.equals("auto")) {
            if (LOGGED_CPU.compareAndSet(false, true)) {
                LOG.info("device=auto: no GPU (none assigned by Spark, PyTorch sees none); running on the CPU.");
            }
            return Device.cpu();
        }
        throw new RadioException("device=gpu, but this executor's PyTorch sees no GPU and Spark assigned none to this "
                + "task. " + GPU_SETUP + ". Or set device=auto (falls back to the CPU) or device=cpu.");
    }

    /** Spark GPU addresses are CUDA device indices ("0", "1", ...) for the CUDA libtorch. */
    private static int parseAddress(String address) {
        try {
            int i = Integer.parseInt(address.trim());
            if (i >= 0) {
                return i;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new RadioException("Spark assigned GPU \"" + address + "\" to this task; RadioEmbedder needs CUDA device "
                + "indices (\"0\", \"1\", ...). Make spark.executor.resource.gpu.discoveryScript print indices, as "
                + "scripts/get-gpus-resources.sh does, not UUIDs.");
    }

    /**
     * The devices local mode builds the model on while the driver lists its input, so that the
     * first tasks find it built: the devices its tasks will select ({@link #select} with a
     * partition to spread by), and never a model the tasks will not use.
     *
     * <ul>
     *   <li>not local: none (executors build on first use);
     *   <li>{@code cpu}: the CPU;
     *   <li>{@code spark.task.resource.gpu.amount} set: none (Spark assigns the tasks' GPUs, unknown
     *       here);
     *   <li>{@code auto} or {@code gpu} and PyTorch sees n GPUs: {@code gpu(0)} .. {@code gpu(n-1)};
     *   <li>none seen: the CPU for {@code auto}; nothing for {@code gpu} (its tasks report the error).
     * </ul>
     *
     * @param visibleGpus asked only when the answer depends on it
     * @throws RadioException for an unknown device
     */
    static List<Device> prebuildDevices(String device, boolean local, boolean sparkGpuAmount, IntSupplier visibleGpus) {
        String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("auto") && !d.equals("cpu") && !d.equals("gpu")) {
            throw new RadioException("Unknown device \"" + device + "\". Use auto, cpu or gpu.");
        }
        if (!local) {
            return List.of();
        }
        if (d.equals("cpu")) {
            return List.of(Device.cpu());
        }
        if (sparkGpuAmount) {
            return List.of();
        }
        int gpus = visibleGpus.getAsInt();
        if (gpus > 0) {
            List<Device> all = new ArrayList<>();
            for (int i = 0; i < gpus; i++) {
                all.add(Device.gpu(i));
            }
            return List.copyOf(all);
        }
        return d.equals("auto") ? List.of(Device.cpu()) : List.of();
    }

    /**
     * Whether the stage's tasks will run on GPUs, as the driver can tell before they start, for
     * {@link ai.radiospark.model.DevicePlan#resolveDtype} (the dtype {@code auto}):
     *
     * <ul>
     *   <li>{@code cpu}: no;
     *   <li>{@code gpu}: yes (the tasks run on a GPU or fail);
     *   <li>{@code auto} with a Spark GPU amount for executors or tasks: yes (Spark assigns GPUs);
     *   <li>{@code auto} in local mode: whether PyTorch sees a GPU here (the tasks then use every one,
     *       {@link #select});
     *   <li>{@code auto} on a cluster without GPU scheduling: no. The driver cannot see the executors'
     *       GPUs; a task that finds one runs on it in the dtype decided here (float32), as the
     *       table records.
     * </ul>
     *
     * @param visibleGpus asked only in local mode with {@code auto} and no Spark GPU amount
     * @throws RadioException for an unknown device
     */
    static boolean tasksOnGpu(String device, boolean local, boolean sparkGpuAmount, IntSupplier visibleGpus) {
        String d = device == null ? "auto" : device.trim().toLowerCase(Locale.ROOT);
        if (!d.equals("auto") && !d.equals("cpu") && !d.equals("gpu")) {
            throw new RadioException("Unknown device \"" + device + "\". Use auto, cpu or gpu.");
        }
        if (d.equals("cpu")) {
            return false;
        }
        if (d.equals("gpu") || sparkGpuAmount) {
            return true;
        }
        return local && visibleGpus.getAsInt() > 0;
    }

    /** The Spark settings whose positive amount means Spark schedules GPUs for the executors and tasks. */
    static final List<String> SPARK_GPU_AMOUNTS =
            List.of("spark.executor.resource.gpu.amount", "spark.task.resource.gpu.amount");

    /**
     * Whether {@code conf} (a Spark conf's getter, null for unset) gives executors or tasks a GPU
     * amount above 0 ({@link #SPARK_GPU_AMOUNTS}).
     */
    static boolean sparkGpuAmount(java.util.function.Function<String, String> conf) {
        for (String key : SPARK_GPU_AMOUNTS) {
            String v = conf.apply(key);
            if (v != null) {
                try {
                    if (Double.parseDouble(v.trim()) > 0) {
                        return true;
                    }
                } catch (NumberFormatException e) {
                    // Spark itself refuses it when it starts the executors
                }
            }
        }
        return false;
    }

    /** Whether this JVM runs Spark in local mode: its only executor is the driver, executor id "driver". */
    static boolean localMode() {
        SparkEnv env = SparkEnv.get();
        return env != null && "driver".equals(env.executorId());
    }

    private static volatile GpuCount.Answer gpuCount;

    /** Calls of {@link #pytorchGpus} in this JVM. */
    private static final AtomicLong GPU_COUNT_REQUESTS = new AtomicLong();

    /** How many times this JVM asked {@link #pytorchGpus} (the first loads the PyTorch engine; diagnostics and tests). */
    public static long gpuCountRequests() {
        return GPU_COUNT_REQUESTS.get();
    }

    /**
     * GPUs PyTorch can use, once per JVM; never throws. 0 with the CPU-only libtorch, or when
     * libtorch cannot be loaded. DJL counts GPUs through the CUDA runtime (libcudart loaded by JNA
     * from the library path), which a host with only the NVIDIA driver and DJL's CUDA libtorch
     * (whose bundled runtime has another file name) may lack: then the CUDA driver API counts them
     * ({@link GpuCount}), without a CUDA context on any GPU. The reason for 0 is logged once.
     * {@code radio doctor} reports this count, the one tasks use.
     */
    public static int pytorchGpus() {
        GPU_COUNT_REQUESTS.incrementAndGet();
        GpuCount.Answer a = gpuCount;
        return (a != null ? a : gpuAnswer()).gpus();
    }

    /** {@link #pytorchGpus} with its reason (null when DJL counted the GPUs itself); counted once, logged once. */
    static synchronized GpuCount.Answer gpuAnswer() {
        GpuCount.Answer a = gpuCount;
        if (a == null) {
            a = GpuCount.decide(engine(), GpuCount::probeDriver);
            gpuCount = a;
            if (a.reason() != null) {
                if (a.gpus() > 0) {
                    LOG.info("{} GPU(s): {}", a.gpus(), a.reason());
                } else {
                    LOG.info("PyTorch can use no GPU: {}", a.reason());
                }
            }
        }
        return a;
    }

    /** What DJL's PyTorch engine reports in this JVM. */
    private static GpuCount.Engine engine() {
        String flavor = System.getProperty("PYTORCH_FLAVOR", System.getenv("PYTORCH_FLAVOR"));
        flavor = flavor == null || flavor.isBlank() ? null : flavor.trim();
        try {
            Engine engine = Engine.getEngine("PyTorch");
            boolean cuda = engine.hasCapability(StandardCapabilities.CUDA);
            return new GpuCount.Engine(null, cuda, cuda ? engine.getGpuCount() : 0, flavor);
        } catch (RuntimeException | UnsatisfiedLinkError | NoClassDefFoundError e) {
            return new GpuCount.Engine(e.toString().lines().findFirst().orElse(""), false, 0, flavor);
        }
    }
}
