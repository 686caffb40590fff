package ai.radiospark.model;

import ai.djl.Device;
import ai.radiospark.RadioException;

/**
 * Every decision that depends on the device, as one pure function of (device type, dtype,
 * settings): {@link #of(boolean, ModelDType, Settings)}. {@link RadioModel} and the Spark stage
 * ask it and never re-derive an answer, so that a test can build the GPU configuration on the
 * CPU ({@code GpuPlanOnCpuTest}) and assert the GPU answers without a GPU ({@code DevicePlanTest}).
 *
 * <ul>
 *   <li>{@link #linear}: oneDNN linears ({@code mkldnn::_linear_pointwise}, weights reordered once)
 *       only on the CPU; they are CPU kernels. Everywhere else {@code aten::linear} (cuBLAS on a GPU).
 *   <li>{@link #compute}: the scalar type of the block matrices, the dtype asked for. float16 (half)
 *       only on a GPU: on the CPU it is refused, PyTorch's CPU half GEMM being ~200x slower than
 *       float32. Never a type other than the one asked for, so a table never records a dtype the
 *       model did not compute in.
 *   <li>{@link #tf32}: whether TF32 tensor cores may serve float32 matrix products (GPU, float32).
 *       DJL 0.36 has no call for it; libtorch reads {@code TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1} from
 *       the executor's environment at start, so this answer is only logged for now.
 *   <li>{@link #graphOptimize}: the TorchScript graph executor's optimisation (profiling executor
 *       and fuser) on the thread that runs the model. On the CPU it stays on, as libtorch and DJL
 *       leave it, where libtorch's fuser does not fuse CPU graphs by default. On a GPU it is off:
 *       the fuser would compile kernels with NVRTC at run time, for each new batch shape, a path
 *       never exercised here (pytorch#99781).
 *   <li>{@link #lanes}: forward passes that run at once per JVM and device: on a GPU two
 *       ({@link #GPU_LANES}), so that one lane's host work (pixel copy, upload, copy back) overlaps
 *       the other's kernels.
 *   <li>{@link #uint8Pixels}: 8-bit pixels, rescaled in the graph, on a GPU.
 *   <li>{@link #batchSize}: images per forward pass when the user sets none: 64 on a GPU (the H200
 *       anchor of 1,758 img/s was measured with bf16 at batch 64), 16 on the CPU.
 * </ul>
 *
 * <p>The dtype setting's default, {@code auto}, is not resolved here per task: a table records the
 * dtype of the run, so the driver resolves it once, before anything is recorded, with
 * {@link #resolveDtype}: {@link #GPU_DTYPE} (bfloat16) when the tasks will run on GPUs, else
 * float32. ({@code ai.radiospark.ml.DeviceSelector#tasksOnGpu} says whether they will.) An explicit
 * dtype always wins.
 *
 * @param gpu whether the model runs on a GPU (else the CPU)
 * @param compute the type the block matrices compute in
 * @param linear the block linears' backend
 * @param tf32 whether TF32 may serve float32 matrix products
 * @param graphOptimize the TorchScript graph executor's optimisation on the calling thread
 */
public record DevicePlan(boolean gpu, ModelDType compute, Linear linear, boolean tf32, boolean graphOptimize) {

    /** The block linears' backend. */
    public enum Linear {
        /** {@code mkldnn::_linear_pointwise} with weights reordered once (CPU only). */
        ONEDNN,
        /** {@code aten::linear}. */
        ATEN
    }

    /** Images per forward pass when the user sets none, on a CPU. */
    public static final int CPU_BATCH_SIZE = 16;

    /** Images per forward pass when the user sets none, on a GPU: bf16 at batch 64 is the H200 anchor. */
    public static final int GPU_BATCH_SIZE = 64;

    /** Forward lanes per GPU when forwardConcurrency is not set: host work of one overlaps the other's kernels. */
    public static final int GPU_LANES = 2;

    /** What dtype {@value #AUTO} resolves to when the tasks run on GPUs (on CPUs: float32). */
    public static final ModelDType GPU_DTYPE = ModelDType.BFLOAT16;

    /** The dtype setting's default: resolved on the driver by {@link #resolveDtype}. */
    public static final String AUTO = "auto";

    /**
     * The dtype a run computes in, and its table records: {@code dtype} when set explicitly (float32,
     * bfloat16 or float16, always winning); for {@value #AUTO} (or null), {@link #GPU_DTYPE} when the
     * tasks will run on GPUs, else float32, so a CPU run with the default records float32, as runs
     * did before the default became {@value #AUTO}.
     *
     * @param tasksOnGpu whether the tasks will run on GPUs, as the driver can tell
     * @throws RadioException for a dtype that is none of these
     */
    public static ModelDType resolveDtype(String dtype, boolean tasksOnGpu) {
        if (dtype == null || dtype.trim().equalsIgnoreCase(AUTO)) {
            return tasksOnGpu ? GPU_DTYPE : ModelDType.FLOAT32;
        }
        return ModelDType.parse(dtype);
    }

    /** c10::ScalarType codes, as TorchScript's serialized dialect writes dtypes. */
    static final int TS_FLOAT16 = 5;

    static final int TS_FLOAT32 = 6;
    static final int TS_BFLOAT16 = 15;

    /**
     * Settings that feed the plan besides the device and dtype.
     *
     * @param cpuLinear the CPU's linear backend ({@code -Dradio.linear=aten} for comparisons); a GPU
     *     always runs aten
     */
    public record Settings(Linear cpuLinear) {
        /** The JVM's settings: {@code -Dradio.linear=aten|onednn}, onednn by default. */
        public static Settings fromSystemProperties() {
            return new Settings(
                    "aten".equals(System.getProperty("radio.linear", "onednn")) ? Linear.ATEN : Linear.ONEDNN);
        }
    }

    /** The plan for {@code device} and {@code dtype} with the JVM's settings. */
    public static DevicePlan of(Device device, ModelDType dtype) {
        return of(device, dtype, Settings.fromSystemProperties());
    }

    /** The plan for {@code device} and {@code dtype}. */
    public static DevicePlan of(Device device, ModelDType dtype, Settings settings) {
        return of(!Device.Type.CPU.equals(device.getDeviceType()), dtype, settings);
    }

    /**
     * The plan for a GPU or the CPU and {@code dtype}.
     *
     * @throws RadioException for float16 on the CPU, saying what to use instead
     */
    public static DevicePlan of(boolean gpu, ModelDType dtype, Settings settings) {
        if (dtype == ModelDType.FLOAT16 && !gpu) {
            throw new RadioException("dtype=float16 on the CPU: PyTorch's CPU float16 matrix multiplies are about 200x "
                    + "slower than float32 (0.4-0.9 GFLOP/s measured). Use dtype=bfloat16 or float32 on CPU executors; "
                    + "float16 is for GPUs (device=gpu, or auto on GPU executors).");
        }
        Linear linear = gpu ? Linear.ATEN : settings.cpuLinear();
        return new DevicePlan(gpu, dtype, linear, gpu && dtype == ModelDType.FLOAT32, !gpu);
    }

    /** {@link #compute} as a c10::ScalarType code, for the TorchScript module. */
    public int scalarType() {
        return switch (compute) {
            case FLOAT32 -> TS_FLOAT32;
            case BFLOAT16 -> TS_BFLOAT16;
            case FLOAT16 -> TS_FLOAT16;
        };
    }

    /**
     * Forward passes that run at once per JVM on this device: {@code forwardConcurrency} if set (>
     * 0), else {@link #GPU_LANES} on a GPU (two passes, so that one's host work overlaps the other's
     * kernels), else the executor's cores over the torch threads per pass.
     */
    public int lanes(int forwardConcurrency, int executorCores, int torchThreads) {
        if (forwardConcurrency > 0) {
            return forwardConcurrency;
        }
        return gpu ? GPU_LANES : Math.max(1, executorCores / Math.max(1, torchThreads));
    }

    /**
     * Whether the stage hands the model 8-bit pixels ({@link RadioModel#forwardUint8}) rather than
     * float32: on a GPU, where the host copy and the upload are a quarter of the size and the rescale
     * runs on the device. Exact, not an approximation: the preprocessor's values are always
     * {@code float(v * (1 / 255))} of an 8-bit v (Pillow's resize rounds to 8 bits), and the graph
     * rescales the same way (docs/performance.md). On the CPU the float path stays, where the copy
     * costs nothing and the model's golden tests run.
     */
    public boolean uint8Pixels() {
        return gpu;
    }

    /** Images per forward pass: {@code batchSize} if set (> 0), else this device's default. */
    public int batchSize(int batchSize) {
        return batchSize > 0 ? batchSize : gpu ? GPU_BATCH_SIZE : CPU_BATCH_SIZE;
    }
}
