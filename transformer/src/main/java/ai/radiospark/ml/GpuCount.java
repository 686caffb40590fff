package ai.radiospark.ml;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.function.Supplier;

/**
 * How many GPUs this JVM's PyTorch can use, and when none, why, in one line: without creating a
 * CUDA context on any GPU. {@link #decide} is the pure decision over what the probes found (tests
 * pass fakes); {@link #probeDriver} asks the CUDA driver API through JNA ({@code cuInit(0)}, then
 * {@code cuDeviceGetCount} in {@code libcuda.so.1}), which counts the GPUs CUDA_VISIBLE_DEVICES
 * leaves visible and neither allocates on them nor stops early on a busy or EXCLUSIVE_PROCESS GPU,
 * unlike placing a tensor on each.
 *
 * <p>The reasons tell apart the cases a user fixes differently:
 *
 * <ul>
 *   <li>libtorch could not be loaded at all (no network and no pre-filled {@code ENGINE_CACHE_DIR});
 *   <li>no CUDA build of libtorch loaded (DJL's engine reports CPU-only), with or without GPUs the
 *       driver sees;
 *   <li>the CUDA libtorch but no GPU: no driver library, or the driver's error code.
 * </ul>
 */
final class GpuCount {
    /** The NVIDIA driver library the CUDA driver API lives in. */
    static final String LIBCUDA = "libcuda.so.1";

    private GpuCount() {}

    /**
     * What the CUDA driver API found.
     *
     * @param gpus the GPUs it counts, 0 on failure
     * @param failure why it counts none, one line; null when it counts some
     */
    record DriverAnswer(int gpus, String failure) {}

    /**
     * GPUs PyTorch can use.
     *
     * @param gpus the count
     * @param reason why 0 (or how it was counted when DJL could not count), one line; null when DJL
     *     counted the GPUs itself
     */
    record Answer(int gpus, String reason) {}

    /**
     * What DJL's PyTorch engine reports: loaded or not, with CUDA or not.
     *
     * @param loadFailure why the engine could not be loaded, null when it was
     * @param cuda whether the engine has CUDA (the CUDA build of libtorch)
     * @param djlGpus the GPUs DJL counts through the CUDA runtime (0 when it finds no libcudart)
     * @param flavor the libtorch flavor asked for (PYTORCH_FLAVOR), null when none (DJL's choice)
     */
    record Engine(String loadFailure, boolean cuda, int djlGpus, String flavor) {
        /** " cu128" for the message, or "" without a flavor. */
        String named() {
            return flavor == null ? "" : " " + flavor;
        }

        /** " (PYTORCH_FLAVOR=cpu)" for the message, or "" without a flavor. */
        String asked() {
            return flavor == null ? "" : " (PYTORCH_FLAVOR=" + flavor + ")";
        }
    }

    /** The decision: {@code engine} as found, {@code driver} asked only when the answer needs it. */
    static Answer decide(Engine engine, Supplier<DriverAnswer> driver) {
        if (engine.loadFailure() != null) {
            return new Answer(
                    0,
                    "libtorch" + engine.named() + " could not be loaded (" + engine.loadFailure() + "). Without "
                            + "network, pre-fill ENGINE_CACHE_DIR with DJL's libtorch cache and set DJL_OFFLINE=true, "
                            + "or point PYTORCH_LIBRARY_PATH at an installed torch/lib (README, GPU clusters).");
        }
        if (!engine.cuda()) {
            DriverAnswer d = driver.get();
            return new Answer(
                    0,
                    d.gpus() > 0
                            ? "no CUDA build of libtorch loaded: DJL's PyTorch engine reports CPU-only"
                                    + engine.asked() + ", though the NVIDIA driver sees " + d.gpus() + " GPU(s). Build "
                                    + "with mvn -Pcuda and set PYTORCH_FLAVOR=cu128 (README, GPU clusters)."
                            : "DJL's PyTorch engine reports CPU-only" + engine.asked() + ", and " + d.failure());
        }
        if (engine.djlGpus() > 0) {
            return new Answer(engine.djlGpus(), null);
        }
        DriverAnswer d = driver.get();
        if (d.gpus() > 0) {
            return new Answer(
                    d.gpus(),
                    "DJL found no CUDA runtime library (libcudart) to count GPUs; the CUDA driver API counts "
                            + d.gpus() + ".");
        }
        return new Answer(0, "the CUDA libtorch is loaded, but " + d.failure());
    }

    /** The CUDA driver API calls used, as JNA maps them. */
    interface CudaDriver extends Library {
        int cuInit(int flags);

        int cuDeviceGetCount(IntByReference count);

        int cuGetErrorName(int error, PointerByReference name);
    }

    /** Asks the driver in {@link #LIBCUDA}; never throws. */
    static DriverAnswer probeDriver() {
        return probeDriver(() -> Native.load(LIBCUDA, CudaDriver.class));
    }

    /**
     * Asks the driver {@code load} gives.
     *
     * @param load loads the driver library; throws UnsatisfiedLinkError when it is not there
     */
    static DriverAnswer probeDriver(Supplier<CudaDriver> load) {
        CudaDriver cuda;
        try {
            cuda = load.get();
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return new DriverAnswer(
                    0,
                    "the NVIDIA driver library " + LIBCUDA + " was not found (no NVIDIA driver on this machine, or "
                            + "not on the library path).");
        }
        try {
            int rc = cuda.cuInit(0);
            if (rc != 0) {
                return new DriverAnswer(0, "cuInit(0) failed with " + errorName(cuda, rc) + ".");
            }
            IntByReference n = new IntByReference();
            rc = cuda.cuDeviceGetCount(n);
            if (rc != 0) {
                return new DriverAnswer(0, "cuDeviceGetCount failed with " + errorName(cuda, rc) + ".");
            }
            if (n.getValue() <= 0) {
                return new DriverAnswer(0, "the NVIDIA driver sees no GPU (check CUDA_VISIBLE_DEVICES).");
            }
            return new DriverAnswer(n.getValue(), null);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return new DriverAnswer(
                    0,
                    "the CUDA driver API failed: "
                            + e.toString().lines().findFirst().orElse("") + ".");
        }
    }

    /** "CUDA_ERROR_NO_DEVICE (100)", or "CUDA error 100" when the driver cannot name it. */
    static String errorName(CudaDriver cuda, int rc) {
        try {
            PointerByReference name = new PointerByReference();
            if (cuda.cuGetErrorName(rc, name) == 0) {
                Pointer p = name.getValue();
                if (p != null) {
                    return p.getString(0) + " (" + rc + ")";
                }
            }
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            // unnamed below
        }
        return "CUDA error " + rc;
    }
}
