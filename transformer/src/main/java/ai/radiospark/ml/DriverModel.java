package ai.radiospark.ml;

import ai.radiospark.InvalidValueException;
import ai.radiospark.RadioException;
import ai.radiospark.model.Checkpoint;
import ai.radiospark.model.DevicePlan;
import ai.radiospark.model.ModelDType;
import ai.radiospark.model.RadioConfig;
import ai.radiospark.model.RadioWeights;
import ai.radiospark.runtime.EmbeddingSettings;
import ai.radiospark.runtime.ForwardThreads;
import ai.radiospark.runtime.ModelSource;
import ai.radiospark.runtime.PixelSource;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver side of {@link RadioEmbedder}'s model: the checkpoint loaded once per SparkContext
 * and model value, its identity ({@link RadioEmbedder.ModelInfo}) and its weights, broadcast (in
 * local mode shared in this JVM: {@link WeightsHandle}); the local-mode prebuild of the model; and
 * the checks front ends run before Spark starts (settings against the model's configuration,
 * device and dtype against this machine, the session's pixel limit).
 */
record DriverModel(String model, SparkContext sc, WeightsHandle weights, RadioEmbedder.ModelInfo info) {
    /** The stage's log: its driver-side lines keep their logger name. */
    private static final Logger LOG = LoggerFactory.getLogger(RadioEmbedder.class);

    /** Whether this is the load of {@code m} for {@code sc}, still usable. */
    boolean isFor(String m, SparkContext sc) {
        return model.equals(m) && this.sc == sc && !sc.isStopped();
    }

    /**
     * Loads the weights of {@code m} and broadcasts them (in local mode, shares them in this JVM).
     *
     * @param opened the checkpoint of {@code m} if the caller opened it already, else null (opened here)
     */
    static DriverModel load(String m, SparkContext sc, Checkpoint opened) {
        long t0 = System.nanoTime();
        RadioWeights weights = opened != null ? opened.weights() : ModelSource.load(m);
        long t1 = System.nanoTime();
        String sha = weights.checkpointSha256();
        long t2 = System.nanoTime();
        WeightsHandle bc = WeightsHandle.of(sc, weights);
        long t3 = System.nanoTime();
        LOG.info(
                "Model {} ready on the driver: loaded in {} ms, SHA-256 in {} ms, {} in {} ms ({} MB)",
                m,
                (t1 - t0) / 1_000_000,
                (t2 - t1) / 1_000_000,
                sc.isLocal() ? "shared in this JVM (local mode)" : "broadcast",
                (t3 - t2) / 1_000_000,
                weights.byteSize() >> 20);
        return new DriverModel(m, sc, bc, new RadioEmbedder.ModelInfo(sha, weights.source(), weights.config()));
    }

    /**
     * Local mode: starts building the model on a forward lane of each device the tasks will use
     * ({@link DeviceSelector#prebuildDevices}: the CPU, or every GPU PyTorch sees) as soon as the
     * driver has the weights, while the job lists its input and Spark plans, so that the first
     * tasks find it built instead of all waiting for it (1.3-1.7 s for the base shape, several
     * seconds for C-RADIOv4-H). The devices are decided on a thread of their own, as counting GPUs
     * loads the PyTorch engine (as resolving dtype auto may). On a cluster the executors build it on first use. A failed build is
     * reported by the task that retries it; a model already built is not built again.
     */
    void prebuildInLocalMode(String deviceParam, String dtypeParam, int torchThreadsParam, int forwardConcurrency) {
        if (!sc.isLocal()) {
            return;
        }
        boolean sparkGpus = sc.conf().contains("spark.task.resource.gpu.amount");
        int threads = EmbedPartition.torchThreads(torchThreadsParam, sc.conf().getInt("spark.task.cpus", 1));
        Thread t = new Thread(
                () -> {
                    try {
                        // dtype auto may count GPUs, loading the engine: here, not on the caller's thread
                        ModelDType dtype = resolveDtype(sc, deviceParam, dtypeParam);
                        for (ai.djl.Device device : DeviceSelector.prebuildDevices(
                                deviceParam, true, sparkGpus, DeviceSelector::pytorchGpus)) {
                            DevicePlan plan = DevicePlan.of(device, dtype);
                            ForwardThreads.submit(
                                    device.toString(),
                                    plan.lanes(forwardConcurrency, EmbedPartition.executorCores(), threads),
                                    threads,
                                    () -> weights.model(info.checkpointSha256(), device, dtype));
                        }
                    } catch (RuntimeException e) {
                        LOG.debug("No local-mode prebuild ({}); the tasks report it.", e.toString());
                    }
                },
                "radio-prebuild");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The dtype this SparkContext's tasks compute in, resolved on the driver before anything is
     * recorded: {@code dtype} when explicit, for {@code auto} bfloat16 when the tasks will run on
     * GPUs ({@link DeviceSelector#tasksOnGpu}: device gpu, a Spark GPU amount, or local mode with a
     * GPU PyTorch sees), else float32. Counts GPUs (loading the PyTorch engine) only for
     * {@code auto} in local mode without a Spark GPU amount.
     */
    static ModelDType resolveDtype(SparkContext sc, String device, String dtype) {
        if (dtype != null && !dtype.trim().equalsIgnoreCase(DevicePlan.AUTO)) {
            return ModelDType.parse(dtype);
        }
        boolean gpu = DeviceSelector.tasksOnGpu(
                device,
                sc.isLocal(),
                DeviceSelector.sparkGpuAmount(k -> sc.conf().get(k, null)),
                DeviceSelector::pytorchGpus);
        ModelDType resolved = DevicePlan.resolveDtype(dtype, gpu);
        LOG.debug(
                "dtype=auto: {} ({})",
                resolved,
                gpu ? "the tasks run on GPUs" : "the tasks run on CPUs, or the driver cannot tell that they have GPUs");
        return resolved;
    }

    /**
     * Whether {@link #resolveDtype} would count the GPUs PyTorch sees, loading its engine, to decide:
     * dtype auto with device auto in local mode without a Spark GPU amount.
     */
    static boolean resolvingDtypeCountsGpus(SparkContext sc, String device, String dtype) {
        if (dtype != null && !dtype.trim().equalsIgnoreCase(DevicePlan.AUTO)) {
            return false;
        }
        boolean[] counted = {false};
        DeviceSelector.tasksOnGpu(
                device,
                sc.isLocal(),
                DeviceSelector.sparkGpuAmount(k -> sc.conf().get(k, null)),
                () -> {
                    counted[0] = true;
                    return 0;
                });
        return counted[0];
    }

    static final long DEFAULT_MAX_PIXELS = 100_000_000L;

    /**
     * The session's {@link EmbeddingSettings#MAX_PIXELS_CONF}, for a stage whose maxPixels is not
     * set; {@code fallback} (the param's default) when the session has none.
     */
    static long sessionMaxPixels(SparkSession spark, long fallback) {
        String conf = spark.conf().get(EmbeddingSettings.MAX_PIXELS_CONF, null);
        if (conf == null) {
            return fallback;
        }
        try {
            long v = Long.parseLong(conf.trim().replace("_", "").replace(",", ""));
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(EmbeddingSettings.MAX_PIXELS_CONF + " must be a positive number of pixels, "
                + "but is '" + conf + "'. Set it to, for example, 200000000, or unset it for the default "
                + DEFAULT_MAX_PIXELS + ".");
    }

    /**
     * {@link RadioEmbedder#checkAgainst}: imageSize and resizeMode against the patch size of
     * {@code config}, without Spark and without the weights.
     *
     * @throws InvalidValueException naming imageSize
     */
    static void checkAgainst(
            PixelSource.Factory pixelSources, String imageSize, String resizeMode, long maxPixels, RadioConfig config) {
        int[] size = EmbeddingSettings.parseImageSize(imageSize);
        try {
            pixelSources.create(new PixelSource.Spec(size[0], size[1], resizeMode, config.patchSize(), maxPixels));
        } catch (InvalidValueException e) {
            throw e;
        } catch (RadioException e) {
            throw new InvalidValueException("imageSize", imageSize, e.getMessage());
        }
    }

    /**
     * {@link RadioEmbedder#checkDeviceLocally}: device and dtype against this machine, for local
     * mode. Only loads the PyTorch engine (to count GPUs) when the answer matters.
     *
     * @throws InvalidValueException naming device or dtype
     */
    static void checkDeviceLocally(String d, String dtype) {
        // auto resolves to float32 or bfloat16, which run everywhere; only device=gpu is checked then
        ModelDType type = dtype.equals(DevicePlan.AUTO) ? ModelDType.FLOAT32 : ModelDType.parse(dtype);
        boolean cpu = d.equals("cpu");
        if (!cpu && (d.equals("gpu") || type == ModelDType.FLOAT16)) {
            cpu = DeviceSelector.pytorchGpus() == 0;
            if (cpu && d.equals("gpu")) {
                throw new InvalidValueException(
                        "device",
                        d,
                        "PyTorch sees no GPU on this machine (the CPU-only libtorch, or "
                                + "no CUDA driver). Use device auto or cpu, or run on GPU executors (README, GPU clusters).");
            }
        }
        if (cpu) {
            try {
                DevicePlan.of(ai.djl.Device.cpu(), type); // refuses float16 on the CPU
            } catch (RadioException e) {
                throw new InvalidValueException(
                        "dtype",
                        dtype,
                        (d.equals("cpu") ? "" : "This machine has no GPU, so " + "device=" + d + " runs on the CPU. ")
                                + e.getMessage());
            }
        }
    }
}
